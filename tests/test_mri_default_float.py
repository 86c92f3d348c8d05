"""MRI's mask takes JAX's default float: no float64 request (and UserWarning) with x64 off."""

import os
import subprocess
import sys

import jax.numpy as jnp

from lio.problems.imaging.fourier import MaskedFourier
from tests.workflow_helpers import ROOT

# Snakemake parses the config with x64 off and builds every configured problem (lio.run.config):
# asking for a float64 mask there printed a UserWarning on every call, dry runs included.
BUILD_WITH_X64_OFF = """
import warnings
import jax
from lio.problems import make_problem

warnings.simplefilter("error", UserWarning)
problem = make_problem("mri", {"size": 16})
print(jax.config.jax_enable_x64, problem.operator.mask.dtype)
"""


def test_mri_builds_without_a_warning_when_x64_is_off():
    environment = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    result = subprocess.run([sys.executable, "-c", BUILD_WITH_X64_OFF], capture_output=True, text=True,
                            cwd=ROOT, env=environment, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["False", "float32"]


def test_mask_is_float64_with_x64_on():
    # conftest turns x64 on, as the solve jobs do
    assert MaskedFourier.create(16, 4, 0.08, 0).mask.dtype == jnp.float64
    assert MaskedFourier.create(16, 4, 0.08, 0, jnp.float32).mask.dtype == jnp.float32
