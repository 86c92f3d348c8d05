"""lio: learnable inverse optimisation.

Solve many inverse problems jointly by reparameterising their solutions through a neural
network (Holl & Thuerey), and compare against BFGS, supervised training and the neural adjoint.
``lio.minimize`` does this for any differentiable JAX forward function (docs/minimize.md).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lio.api import MinimizeResult, minimize

from lio.core.version import VERSION as __version__

__all__ = ["MinimizeResult", "__version__", "minimize"]


def __getattr__(name: str) -> Any:
    """``lio.minimize`` loads the solvers on first use, so ``import lio.analysis.results`` stays light."""
    if name in ("MinimizeResult", "minimize"):
        from lio import api

        return getattr(api, name)
    raise AttributeError(f"module 'lio' has no attribute {name!r}")
