# lio: reproduce "Can Neural Networks Improve Classical Optimization of Inverse Problems?"
#   snakemake --cores all                                   # the paper's full sweep, into results/
#   snakemake --cores all publish                           # ... and make it the committed record
#   snakemake --cores all --configfile config/quick.yaml    # tiny sweep, minutes on a laptop
#   snakemake --cores 1 --config paper_source=record        # paper/main.pdf from the committed record
from snakemake.utils import min_version

min_version("9.27")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/calibrate.smk"
include: "workflow/rules/solve.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/paper.smk"
include: "workflow/rules/publish.smk"
include: "workflow/rules/studies.smk"
include: "workflow/rules/observations.smk"


onstart:
    from lio.run.cost import startup_line

    logger.info(startup_line([str(path) for path in workflow.overwrite_configfiles]))


rule all:
    input:
        all_targets(),
    default_target: True
