"""``lio.minimize``: solve many instances of YOUR inverse problem jointly, scipy-style.

The user's forward function is wrapped in a ``FunctionProblem`` (an ordinary ``Problem``), and
then solved by exactly the method classes and the ``refine`` step the Snakemake workflow runs;
nothing here trains a network or runs BFGS itself.

Modules, each importing only those above it in this list (and lower layers):

    problem    FunctionProblem, the user's F as a Problem
    result     MinimizeResult, and the tolerances of its comparison with plain BFGS
    options    the defaults (steps, learning rate, networks, float32 BFGS settings) and the
               method options and BFGS settings built from minimize's arguments
    validate   the argument checks, each refusing bad input with one ValueError
    solve      minimize: check, build the problem, run the method, refine, assemble the result
"""

from lio.api.options import (
    CONV_MIN_LENGTH,
    CONV_NETWORK,
    DEFAULT_LEARNING_RATE,
    DEFAULT_STEPS,
    FLOAT32_BFGS,
    MLP_NETWORK,
    default_network,
)
from lio.api.problem import FunctionProblem
from lio.api.result import COMPARISON_ATOL, COMPARISON_RTOL, MinimizeResult
from lio.api.solve import minimize

__all__ = [
    "COMPARISON_ATOL",
    "COMPARISON_RTOL",
    "CONV_MIN_LENGTH",
    "CONV_NETWORK",
    "DEFAULT_LEARNING_RATE",
    "DEFAULT_STEPS",
    "FLOAT32_BFGS",
    "MLP_NETWORK",
    "FunctionProblem",
    "MinimizeResult",
    "default_network",
    "minimize",
]
