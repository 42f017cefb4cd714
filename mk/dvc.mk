# DVC set-up, included by the top-level Makefile (`include mk/dvc.mk`).
#
#   make dvc-remote                       default remote $(HOME)/.cache/a2sb/dvc-remote
#   make dvc-remote DVC_REMOTE=s3://b/p   any DVC remote URL (ssh://, gs://, a path, ...)
#   make dvc-track DVC_TRACK="resources/raw/fma resources/manifests"   dvc add those paths
#   make dvc-push / dvc-pull / dvc-status
#
# The remote goes to .dvc/config.local (never committed), so each machine points where it
# wants; running dvc-remote again just rewrites the same setting (idempotent). A local remote
# must lie outside the repository.

DVC ?= $(if $(wildcard .venv/bin/dvc),.venv/bin/dvc,dvc)
DVC_REMOTE ?= $(HOME)/.cache/a2sb/dvc-remote
DVC_REMOTE_NAME ?= local
DVC_TRACK ?=
DVC_ENV := DVC_NO_ANALYTICS=1

.PHONY: dvc-remote dvc-track dvc-push dvc-pull dvc-status

dvc-remote:
	@case "$(DVC_REMOTE)" in \
	  *://*) ;; \
	  *) mkdir -p "$(DVC_REMOTE)" && \
	     case "$$(cd "$(DVC_REMOTE)" && pwd -P)/" in \
	       "$$(pwd -P)"/*) rmdir "$(DVC_REMOTE)" 2>/dev/null; echo "dvc-remote: error: $(DVC_REMOTE) is inside the repository" >&2; exit 2 ;; \
	     esac ;; \
	esac
	$(DVC_ENV) $(DVC) remote add --local --force --default $(DVC_REMOTE_NAME) "$(DVC_REMOTE)"

dvc-track:
	@test -n "$(DVC_TRACK)" || { echo "dvc-track: set DVC_TRACK to the paths to version" >&2; exit 2; }
	$(DVC_ENV) $(DVC) add $(DVC_TRACK)

dvc-push: dvc-remote
	$(DVC_ENV) $(DVC) push

dvc-pull: dvc-remote
	$(DVC_ENV) $(DVC) pull

dvc-status:
	$(DVC_ENV) $(DVC) status --cloud
