"""``lio.minimize``'s defaults, and the method options and BFGS settings built from its arguments."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from lio.methods import BFGSSettings

DEFAULT_STEPS = 1000
DEFAULT_LEARNING_RATE = 1e-3
# A 1-D observation at least this long is treated as a signal (conv net); shorter vectors are
# a handful of features, for which pooling would throw information away (MLP).
CONV_MIN_LENGTH = 32
# The VGG-style net of the wave-packet experiment (config/config.yaml) and a plain 2-layer MLP.
CONV_NETWORK = {"kind": "conv", "features": [16, 16, 32, 32, 64], "kernel_size": 3, "dense": 64}
MLP_NETWORK = {"kind": "mlp", "hidden": [128, 128], "activation": "relu"}
# Without x64, float32 iterates stall at ~1e-7 relative change, so the workflow's float64
# Cauchy tolerances (1e-10 / 1e-12) would never hold and every BFGS run would spend its budget.
FLOAT32_BFGS = BFGSSettings(rtol=1e-6, atol=1e-9)


def default_network(observation_shape: tuple[int, ...]) -> dict[str, Any]:
    """The network ``minimize`` uses when none is given (see its ``network`` argument)."""
    if len(observation_shape) == 1 and observation_shape[0] >= CONV_MIN_LENGTH:
        return dict(CONV_NETWORK)
    if len(observation_shape) == 2:
        return dict(CONV_NETWORK)
    return dict(MLP_NETWORK)


def bfgs_settings(bfgs: BFGSSettings | dict[str, Any] | None, dtype: Any) -> BFGSSettings:
    """The given settings; by default the workflow's with x64 on, ``FLOAT32_BFGS`` without."""
    if isinstance(bfgs, BFGSSettings):
        return bfgs
    if bfgs is not None:
        return BFGSSettings(**bfgs)
    return BFGSSettings() if jnp.dtype(dtype) == jnp.float64 else FLOAT32_BFGS


def method_options(
    method_cls: type,
    observation_shape: tuple[int, ...],
    steps: int | None,
    learning_rate: float | None,
    network: dict[str, Any] | None,
) -> dict[str, Any]:
    """``make_method``'s options: the network and its training, for a method that trains one.

    ``validate.check_network_arguments`` has refused network arguments for a method without one.
    """
    if "network" not in method_cls.__dataclass_fields__:
        return {}
    if network is not None:
        network = dict(network)
    elif method_cls.network_input == "observation":
        network = default_network(observation_shape)
    else:
        network = {}  # the method picks its network by the unknown's shape
    return {
        "network": network,
        "training": {
            "steps": DEFAULT_STEPS if steps is None else steps,
            "learning_rate": DEFAULT_LEARNING_RATE if learning_rate is None else learning_rate,
            "log_every": 0,
        },
    }
