"""Standard networks: the off-the-shelf architectures the paper uses, built from a config spec.

A *solver network* maps ``(observed, condition)`` of one problem to an unbounded vector ``z`` of
the problem's parameter count (a U-Net: an image, flattened); ``bounded`` maps ``z`` onto the parameter box with a scaled tanh.
A *surrogate* maps ``(solution, condition)`` to a predicted observation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax.numpy as jnp
import numpy as np
from flax import struct
from jaxtyping import Array

ACTIVATIONS = {"relu": nn.relu, "sigmoid": nn.sigmoid, "tanh": nn.tanh, "gelu": nn.gelu}


def bounded(z: Array, lower: Array, upper: Array) -> Array:
    """Scaled tanh onto ``[lower, upper]``: differentiable, clamps out-of-box values."""
    return lower + (upper - lower) * (jnp.tanh(z) + 1) / 2


def positional_encoding(x: Array, num_frequencies: int) -> Array:
    """``[x, sin(2^k pi x), cos(2^k pi x)]`` for k < num_frequencies (NeRF-style)."""
    if num_frequencies == 0:
        return x
    scales = (2.0 ** jnp.arange(num_frequencies)) * jnp.pi
    angles = x[..., None] * scales
    features = [x, jnp.sin(angles).reshape(*x.shape[:-1], -1), jnp.cos(angles).reshape(*x.shape[:-1], -1)]
    return jnp.concatenate(features, axis=-1)


def max_pool(x: Array, window: Sequence[int]) -> Array:
    """Non-overlapping max pooling of ``(batch, *spatial, channels)`` by ``window`` per spatial
    axis, trailing remainders dropped: the forward values of ``nn.max_pool(x, window,
    strides=window)``, as reshapes and one reduction.

    On CPU its backward pass is cheaper than ``reduce_window``'s select-and-scatter (a one-off
    ablation of the wave-packet training step, n = 256, one thread: 55 ms -> 45 ms). Ties share
    the gradient equally instead of going to one element; after a ReLU they occur only at 0,
    where it is 0.
    """
    spatial = x.shape[1:-1]
    if len(window) != len(spatial):
        raise ValueError(f"max_pool: {len(window)} window sizes for {len(spatial)} spatial axes")
    kept = tuple((s // w) * w for s, w in zip(spatial, window, strict=True))
    x = x[(slice(None), *(slice(0, k) for k in kept), slice(None))]
    shape = [x.shape[0]]
    for k, w in zip(kept, window, strict=True):
        shape += [k // w, w]
    x = x.reshape(*shape, x.shape[-1])
    return jnp.max(x, axis=tuple(2 + 2 * i for i in range(len(window))))


class Standardizer(struct.PyTreeNode):
    """Affine input scaling fitted on the data a network is trained on (no labels used)."""

    mean: Array
    std: Array

    @classmethod
    def fit(cls, data: Array, per_feature: bool) -> "Standardizer":
        axes = 0 if per_feature else None
        mean = jnp.mean(data, axis=axes)
        std = jnp.std(data, axis=axes)
        return cls(mean=mean, std=jnp.where(std > 0, std, 1.0))

    def __call__(self, data: Array) -> Array:
        return (data - self.mean) / self.std


class ConvNet(nn.Module):
    """VGG-style: per block conv + batch norm + ReLU + max-pool (2), then two dense layers.

    Works on 1D (``(length,)``) and 2D (``(height, width)``) observations; with
    ``channels_last`` the observation's last axis holds channels (``(height, width, c)``, e.g.
    velocity components). A known condition is concatenated to the flattened features before
    the dense layers.
    """

    features: Sequence[int]
    dense: int
    out_features: int
    kernel_size: int = 3
    channels_last: bool = False

    @nn.compact
    def __call__(self, observed: Array, condition: Array, train: bool) -> Array:
        x = observed if self.channels_last else observed[..., None]
        spatial = x.ndim - 2  # leading batch dim, trailing channels
        for width in self.features:
            x = nn.Conv(width, (self.kernel_size,) * spatial)(x)
            x = nn.BatchNorm(use_running_average=not train, momentum=0.9)(x)
            x = nn.relu(x)
            window = tuple(2 if s >= 2 else 1 for s in x.shape[1:-1])
            x = max_pool(x, window)
        x = x.reshape(x.shape[0], -1)
        x = jnp.concatenate([x, condition], axis=-1)
        x = nn.relu(nn.Dense(self.dense)(x))
        return nn.Dense(self.out_features)(x)


class UNet(nn.Module):
    """Encoder-decoder with skip connections (Ronneberger et al. 2015) for image-valued unknowns.

    Maps a 2D input (an imaging problem's ``network_input``, e.g. a filtered back-projection,
    ``(height, width)`` or with ``channels_last`` ``(height, width, c)``) to an image of the
    solution's shape, flattened to ``out_features`` values. Per level: two conv + batch norm +
    ReLU; down by 2x2 max-pooling, up by a stride-2 transposed conv and the level's skip. A
    known condition enters as constant extra input channels.
    """

    features: Sequence[int]
    out_features: int
    solution_shape: tuple[int, ...] = ()
    kernel_size: int = 3
    channels_last: bool = False

    @nn.compact
    def __call__(self, observed: Array, condition: Array, train: bool) -> Array:
        x = observed if self.channels_last else observed[..., None]
        if x.ndim != 4 or tuple(x.shape[1:3]) != tuple(self.solution_shape[:2]):
            raise ValueError(
                f"unet: its input has shape {tuple(observed.shape[1:])} and the solution "
                f"{self.solution_shape}; expected a 2D input on the solution's grid. Give the "
                "problem a network_input (e.g. a classical reconstruction) on that grid."
            )
        levels = len(self.features)
        if any(s % 2 ** (levels - 1) for s in x.shape[1:3]):
            raise ValueError(
                f"unet: {levels} levels halve the grid {levels - 1} times, so its sides "
                f"{tuple(x.shape[1:3])} must be divisible by {2 ** (levels - 1)}; use fewer "
                "features (levels) or a grid that is."
            )
        if condition.shape[-1]:
            constant = jnp.broadcast_to(
                condition[:, None, None, :], (*x.shape[:3], condition.shape[-1])
            )
            x = jnp.concatenate([x, constant.astype(x.dtype)], axis=-1)

        def block(x, width):
            for _ in range(2):
                x = nn.Conv(width, (self.kernel_size,) * 2)(x)
                x = nn.BatchNorm(use_running_average=not train, momentum=0.9)(x)
                x = nn.relu(x)
            return x

        skips = []
        for width in self.features[:-1]:
            x = block(x, width)
            skips.append(x)
            x = max_pool(x, (2, 2))
        x = block(x, self.features[-1])
        for width, skip in zip(reversed(self.features[:-1]), reversed(skips), strict=True):
            x = nn.ConvTranspose(width, (2, 2), strides=(2, 2))(x)
            x = block(jnp.concatenate([x, skip], axis=-1), width)
        x = nn.Conv(1, (1, 1))(x)
        return x.reshape(x.shape[0], -1)


class MLP(nn.Module):
    """Fully connected network with optional positional encoding of its inputs."""

    hidden: Sequence[int]
    out_features: int
    activation: str = "relu"
    encoding_frequencies: int = 0

    @nn.compact
    def __call__(self, observed: Array, condition: Array, train: bool) -> Array:
        x = jnp.concatenate([observed.reshape(observed.shape[0], -1), condition], axis=-1)
        x = positional_encoding(x, self.encoding_frequencies)
        act = ACTIVATIONS[self.activation]
        for width in self.hidden:
            x = act(nn.Dense(width)(x))
        return nn.Dense(self.out_features)(x)


NETWORKS = {"conv": ConvNet, "mlp": MLP, "unet": UNet}


def _hashable(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with lists as tuples: a module with hashable attributes can be a static part of
    a pytree passed to a jitted function (so its compiled code does not depend on the data)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()}


def split_kind(owner: str, spec: dict[str, Any] | None, keys: dict[str, Sequence[str]], hint: str):
    """(kind or None, the other keys) of a method's network spec; ValueError for an unknown
    kind, naming ``owner`` (the method) and the kinds of ``keys`` with ``hint`` on when each fits."""
    spec = dict(spec or {})
    kind = spec.pop("kind", None)
    if kind is not None and kind not in keys:
        raise ValueError(
            f"{owner}: network kind {kind!r} is not known; expected one of {sorted(keys)} ({hint})."
        )
    return kind, spec


def complete_spec(
    owner: str,
    kind: str | None,
    spec: dict[str, Any],
    keys: dict[str, Sequence[str]],
    defaults: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """A method's network spec checked against the keys its ``kind`` takes (any kind's when
    None) and the known activations, then with ``kind`` its defaults filled in and lists made
    tuples (``_hashable``); without a kind the checked keys as given."""
    allowed = keys[kind] if kind else sorted({k for v in keys.values() for k in v})
    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        which = f"kind {kind!r}" if kind else "any network kind"
        raise ValueError(
            f"{owner}: network key(s) {unknown} do not apply to {which}; expected a subset of "
            f"{sorted(allowed)}."
        )
    if "activation" in spec and spec["activation"] not in ACTIVATIONS:
        raise ValueError(
            f"{owner}: network activation {spec['activation']!r} is not known; expected one of "
            f"{sorted(ACTIVATIONS)}."
        )
    if kind is None:
        return spec
    return {"kind": kind, **defaults[kind], **_hashable(spec)}


def build_network(
    spec: dict[str, Any],
    out_features: int,
    channels_last: bool = False,
    solution_shape: tuple[int, ...] = (),
) -> nn.Module:
    """Instantiate a network from a config spec ``{kind: conv|mlp|unet, ...}``.

    ``channels_last`` (from ``Problem.observation_channels``) tells a conv network or U-Net
    that the observation's last axis is channels; an MLP flattens the observation either way.
    ``solution_shape`` (``Problem.solution_shape``) is the grid a U-Net's output image has.
    """
    spec = _hashable(spec)
    kind = spec.pop("kind", None)
    if kind not in NETWORKS:
        raise ValueError(
            f"network kind {kind!r} is not known; expected one of {sorted(NETWORKS)}."
        )
    if kind == "mlp" and spec.get("activation", "relu") not in ACTIVATIONS:
        raise ValueError(
            f"mlp activation {spec['activation']!r} is not known; expected one of "
            f"{sorted(ACTIVATIONS)}."
        )
    if kind in ("conv", "unet"):
        spec["channels_last"] = channels_last
    if kind == "unet":
        if len(solution_shape) != 2 or int(np.prod(solution_shape)) != out_features:
            raise ValueError(
                f"network kind 'unet' makes an image, but the solution has shape "
                f"{tuple(solution_shape)}; use kind conv or mlp for a vector of parameters."
            )
        spec["solution_shape"] = tuple(solution_shape)
    try:
        return NETWORKS[kind](out_features=out_features, **spec)
    except TypeError as error:
        raise ValueError(f"network spec {spec} does not fit kind {kind!r}: {error}") from None


class Surrogate(nn.Module):
    """Neural-adjoint surrogate S(xi, x) -> y: an MLP whose output is reshaped to y's shape."""

    hidden: Sequence[int]
    observation_shape: tuple[int, ...]
    activation: str = "relu"
    encoding_frequencies: int = 0

    @nn.compact
    def __call__(self, solution: Array, condition: Array, train: bool = False) -> Array:
        size = 1
        for s in self.observation_shape:
            size *= s
        out = MLP(
            hidden=self.hidden,
            out_features=size,
            activation=self.activation,
            encoding_frequencies=self.encoding_frequencies,
        )(solution, condition, train)
        return out.reshape(solution.shape[0], *self.observation_shape)


def build_surrogate(spec: dict[str, Any], observation_shape: tuple[int, ...]) -> Surrogate:
    spec = _hashable(spec)
    kind = spec.pop("kind", "mlp")
    if kind != "mlp":
        raise ValueError(f"surrogate kind {kind!r} is not known; expected 'mlp'.")
    return Surrogate(observation_shape=tuple(observation_shape), **spec)

