"""Stack an experiment's run files into method x n x seed x example."""

import sys

with open(snakemake.log[0], "w") as log:  # noqa: F821 (snakemake is injected)
    sys.stdout = sys.stderr = log
    from lio.experiment import aggregate

    aggregate(list(snakemake.input), snakemake.output[0])  # noqa: F821
