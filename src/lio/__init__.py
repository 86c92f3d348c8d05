"""lio: learnable inverse optimisation.

Solve many inverse problems jointly by reparameterising their solutions through a neural
network (Holl & Thuerey), and compare against BFGS, supervised training and the neural adjoint.
``lio.minimize`` does this for any differentiable JAX forward function (docs/minimize.md).
"""

from lio.api import MinimizeResult, minimize

__version__ = "0.1.0"

__all__ = ["MinimizeResult", "__version__", "minimize"]
