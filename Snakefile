# A2SB reproduction pipeline: `snakemake --cores all` regenerates every table and figure of the
# default profile; `--configfile config/paper.yaml --profile profiles/slurm` the paper's.
# Stages: data -> pre-training -> fine-tuning (1, 2, 4 partitions) -> 2-channel ablation ->
# Maestro research-use model -> degraded inputs -> restoration -> metrics -> tables -> figures;
# the stereo test set, its table and figure (workflow/rules/stereo.smk);
# the audit of NVIDIA's released checkpoints (workflow/rules/released.smk).
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/baselines.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/stereo.smk"
include: "workflow/rules/released.smk"


rule all:
    input:
        final_targets(),
    default_target: True
