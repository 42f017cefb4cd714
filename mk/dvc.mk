# DVC set-up, included by the top-level Makefile (`include mk/dvc.mk`).
#
#   make dvc-remote DVC_REMOTE=s3://b/p   any DVC remote URL (ssh://, gs://, a path, ...)
#   make dvc-remote                       keeps the default remote set, else sets
#                                         $(HOME)/.cache/a2sb/dvc-remote
#   make record PROFILE=ci / make review-pull PROFILE=ci   (below)
#   make dvc-push / dvc-pull / dvc-status
#
# The remote goes to .dvc/config.local (never committed), so each machine points where it
# wants; running dvc-remote again rewrites the same setting (idempotent). A local remote must lie
# outside the repository. What a run produced is versioned as the outputs of its profile's stage
# in dvc.yaml (not with `dvc add`: rules never write into DVC-added folders).

DVC ?= $(if $(wildcard .venv/bin/dvc),.venv/bin/dvc,dvc)
DVC_REMOTE_DEFAULT := $(HOME)/.cache/a2sb/dvc-remote
DVC_REMOTE_NAME ?= local
DVC_ENV := DVC_NO_ANALYTICS=1
DVC_REMOTE ?=

.PHONY: dvc-remote dvc-push dvc-pull dvc-status

# DVC_REMOTE given: set it. Not given: keep a configured default remote, else set the default path.
dvc-remote:
	@remote="$(DVC_REMOTE)"; \
	if test -z "$$remote"; then \
	  if test -n "$$($(DVC_ENV) $(DVC) remote default 2>/dev/null)"; then exit 0; fi; \
	  remote="$(DVC_REMOTE_DEFAULT)"; \
	fi; \
	case "$$remote" in \
	  *://*) ;; \
	  *) mkdir -p "$$remote" && \
	     case "$$(cd "$$remote" && pwd -P)/" in \
	       "$$(pwd -P)"/*) rmdir "$$remote" 2>/dev/null; echo "dvc-remote: error: $$remote is inside the repository" >&2; exit 2 ;; \
	     esac ;; \
	esac; \
	echo "dvc remote $(DVC_REMOTE_NAME): $$remote"; \
	$(DVC_ENV) $(DVC) remote add --local --force --default $(DVC_REMOTE_NAME) "$$remote"

dvc-push: dvc-remote
	$(DVC_ENV) $(DVC) push

dvc-pull: dvc-remote
	$(DVC_ENV) $(DVC) pull

dvc-status:
	$(DVC_ENV) $(DVC) status --cloud

# Record a finished run of PROFILE, and get one back in a fresh clone (README, "Auditing a
# recorded run"). `record` saves Snakemake's state of the run (records/$(PROFILE)/run_state.json),
# writes its hashes to dvc.lock (`dvc commit`) and pushes its data to the remote; commit
# dvc.lock and records/ with git afterwards. `review-pull` pulls the data of the checked-out
# commit and restores that state, so `snakemake -n` has nothing to do.
PROFILE ?= default
PY := $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)

.PHONY: record review-pull

record: dvc-remote
	$(PY) workflow/scripts/run_state.py save --profile $(PROFILE)
	$(DVC_ENV) $(DVC) commit --force reproduce@$(PROFILE)
	$(DVC_ENV) $(DVC) push reproduce@$(PROFILE)
	@echo "recorded $(PROFILE): now  git add dvc.lock records/$(PROFILE) && git commit -m 'Record the $(PROFILE) run'"

review-pull: dvc-remote
	$(DVC_ENV) $(DVC) pull reproduce@$(PROFILE)
	$(PY) workflow/scripts/run_state.py restore --profile $(PROFILE)
