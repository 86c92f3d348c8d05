"""Learned gradient descent (Andrychowicz et al. 2016; Adler & Öktem 2017): K unrolled steps of
an optimiser whose update is a network of the iterate and the true loss's gradient.

Size: the update networks, the unrolled descent and the method share one set of features
(channels, memory, start); split apart, each piece would need the others' layout.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jaxtyping import Array, Float

from lio.core import nets
from lio.methods.base import Estimate, Method
from lio.methods.networks import trained_estimate
from lio.methods.training import TrainSettings, train, training_batches
from lio.problems.base import Problem, ProblemSet

MODES = ("joint", "supervised")
# Where the unrolled descent starts: BFGS's start (the prior mean), or each problem's classical
# reconstruction (``Problem.network_input``: CT's filtered back-projection, MRI's zero-filled
# image), clipped to the box, as Adler & Öktem 2017 and Baguer et al. 2020 start from the FBP.
STARTS = ("prior_mean", "reconstruction")
# Keys each network kind takes besides ``kind``; ``mlp`` for vector unknowns, ``conv`` for images.
NETWORK_KEYS = {"mlp": ("hidden", "activation"), "conv": ("features", "kernel_size", "activation")}
DEFAULT_NETWORKS = {
    "mlp": {"hidden": (32, 32), "activation": "relu"},
    "conv": {"features": (16, 16), "kernel_size": 3, "activation": "relu"},
}
# Floor of the gradient's RMS (in box units): keeps the normalisation and its derivative finite
# where the gradient vanishes; its square, 1e-24, is still a normal float32.
_GRADIENT_FLOOR = 1e-12


class UpdateMLP(nn.Module):
    """Λ for vector unknowns: features ``(n, 2 d + 2)`` -> update ``(n, d)`` in box units.

    The output layer starts at zero, so the untrained optimiser stays at its start x_0 and the
    first curve value is the start's loss.
    """

    hidden: Sequence[int]
    out_features: int
    activation: str = "relu"

    @nn.compact
    def __call__(self, features: Array) -> Array:
        x = features
        for width in self.hidden:
            x = nets.ACTIVATIONS[self.activation](nn.Dense(width)(x))
        return nn.Dense(self.out_features, kernel_init=nn.initializers.zeros)(x)


class UpdateConv(nn.Module):
    """Λ for image unknowns: channels ``(n, h, w, 4 + m)`` -> ``(n, h, w, 1 + m)``: the update
    in box units, then ``m`` memory channels (Adler & Öktem 2017's ``s_k``) that the next
    iteration sees again.

    Fully convolutional ('SAME' padding, no pooling), so the update lives on the image grid;
    the output convolution starts at zero, as in ``UpdateMLP``.
    """

    features: Sequence[int]
    kernel_size: int = 3
    activation: str = "relu"
    memory: int = 0

    @nn.compact
    def __call__(self, features: Array) -> Array:
        x = features
        window = (self.kernel_size, self.kernel_size)
        for width in self.features:
            x = nets.ACTIVATIONS[self.activation](nn.Conv(width, window)(x))
        return nn.Conv(1 + self.memory, window, kernel_init=nn.initializers.zeros)(x)


def network_spec(spec: dict[str, Any], solution_shape: tuple[int, ...] | None = None) -> dict:
    """The full spec of Λ (defaults filled in); ValueError naming the key for a bad one.

    Without ``solution_shape`` only the spec itself is checked; with it, also that its kind
    fits the unknown (``mlp`` a vector, ``conv`` an image), and a missing kind is chosen so.
    """
    kind, spec = nets.split_kind(
        "learned_gradient", spec, NETWORK_KEYS, "mlp for vector unknowns, conv for image unknowns"
    )
    if solution_shape is not None:
        fitting = "conv" if len(solution_shape) == 2 else "mlp"
        if kind not in (None, fitting):
            raise ValueError(
                f"learned_gradient: network kind {kind!r} does not fit an unknown of shape "
                f"{tuple(solution_shape)}; expected kind {fitting!r} (mlp for vector unknowns, "
                "conv for image unknowns). Set network.kind accordingly or leave it out."
            )
        kind = fitting
    return nets.complete_spec("learned_gradient", kind, spec, NETWORK_KEYS, DEFAULT_NETWORKS)


def refuse_memory_off_grid(memory: int, kind: str, solution_shape: tuple[int, ...]) -> None:
    """Memory channels live on the image grid of a conv update: refuse them elsewhere."""
    if memory and kind != "conv":
        raise ValueError(
            f"learned_gradient: memory {memory} needs a conv update on an image unknown; this "
            f"unknown has shape {tuple(solution_shape)}. Set memory 0."
        )


def build_update_network(
    spec: dict[str, Any], solution_shape: tuple[int, ...], memory: int = 0
) -> nn.Module:
    spec = network_spec(spec, solution_shape)
    kind = spec.pop("kind")
    refuse_memory_off_grid(memory, kind, solution_shape)
    if kind == "conv":
        return UpdateConv(memory=memory, **spec)
    return UpdateMLP(out_features=int(np.prod(solution_shape)), **spec)


class UnrolledDescent(struct.PyTreeNode):
    """x_K(problems | θ): K steps x_{k+1} = x_k + h Λ_θ(u_k, ĝ_k, k / K, ρ_k) from the start x_0.

    In the box's unit coordinate ``u = (x - c) / h`` (centre c, half-width h: the box is
    [-1, 1]), with ``g_k = h ∇_x L(x_k)`` the gradient with respect to u, ``r_k =
    sqrt(mean(g_k²) + 1e-24)`` its per-example RMS, ``ĝ_k = g_k / r_k`` and ``ρ_k = log(r_k /
    r_0)`` (our normalisation: Λ sees O(1) numbers whatever the loss's size, and ρ tells it how
    far the gradient has shrunk since the start). Each example's steps depend only on its own
    problem, never on the batch. With ``project`` every step is projected onto the prior's
    box (clipped; the gradient passes through the coordinates inside it).

    ``start_from`` ``"reconstruction"`` starts each example at its problem's classical
    reconstruction (``Problem.network_input``) clipped to the box instead of at ``start``;
    ``memory`` extra channels (conv only, zero at the start) carry state from one iteration to
    the next, as Adler & Öktem's.

    A pytree whose arrays (the problem with its operator leaves, the box, the start) are
    leaves and whose network is static, so jitted functions take it as an argument and their
    compiled code is the same for every seed. ``checkpoint`` recomputes each iteration's
    forward pass in the backward pass instead of storing it.
    """

    module: nn.Module = struct.field(pytree_node=False)
    iterations: int = struct.field(pytree_node=False)
    problem: Problem
    lower: Float[Array, " d"]
    upper: Float[Array, " d"]
    start: Float[Array, " d"]
    checkpoint: bool = struct.field(pytree_node=False, default=True)
    project: bool = struct.field(pytree_node=False, default=True)
    start_from: str = struct.field(pytree_node=False, default="prior_mean")
    memory: int = struct.field(pytree_node=False, default=0)

    @classmethod
    def create(
        cls, problem: Problem, spec: dict, iterations: int, dtype=jnp.float32,
        checkpoint: bool = True, project: bool = True, start_from: str = "prior_mean",
        memory: int = 0,
    ) -> UnrolledDescent:
        lower, upper = (b.astype(dtype) for b in problem.bounds)
        return cls(
            module=build_update_network(spec, problem.solution_shape, memory),
            iterations=iterations,
            problem=problem.astype(dtype),
            lower=lower,
            upper=upper,
            start=jnp.asarray(problem.prior_mean, dtype),  # BFGS's start
            checkpoint=checkpoint,
            project=project,
            start_from=start_from,
            memory=memory,
        )

    def init(self, key: jax.Array) -> dict:
        d = self.problem.num_parameters
        features = jnp.zeros((1, d), self.start.dtype)
        inputs = self._features(
            features, features, jnp.zeros(1, self.start.dtype), 0.0, self._empty_memory(1)
        )
        return jax.jit(self.module.init)(key, inputs)["params"]

    def _empty_memory(self, n: int) -> Array:
        return jnp.zeros((n, *self.problem.solution_shape, self.memory), self.start.dtype)

    def starts(self, problems: ProblemSet) -> Float[Array, "n d"]:
        """x_0 of every problem: the shared ``start``, or its reconstruction in the box."""
        n = problems.n
        if self.start_from == "reconstruction":
            images = jax.vmap(self.problem.network_input)(problems.observed, problems.condition)
            return jnp.clip(images.reshape(n, -1).astype(self.start.dtype), self.lower, self.upper)
        return jnp.broadcast_to(self.start, (n, self.start.shape[-1]))

    def _features(self, unit, gradient, shrink, fraction, memory) -> Array:
        n = unit.shape[0]
        scalars = [jnp.full((n,), fraction, unit.dtype), shrink]
        if isinstance(self.module, UpdateConv):
            grid = (n, *self.problem.solution_shape)
            channels = [unit.reshape(grid), gradient.reshape(grid)]
            channels += [jnp.broadcast_to(s[:, None, None], grid) for s in scalars]
            return jnp.concatenate([jnp.stack(channels, axis=-1), memory], axis=-1)
        return jnp.concatenate([unit, gradient, *(s[:, None] for s in scalars)], axis=-1)

    def __call__(self, params: dict, problems: ProblemSet) -> Float[Array, "n d"]:
        """x_K for every problem of ``problems``, in the dtype of this descent's arrays."""
        n, dtype = problems.n, self.start.dtype
        centre, half = (self.upper + self.lower) / 2, (self.upper - self.lower) / 2
        gradient = jax.vmap(jax.grad(self.problem.loss))

        def iterate(carry, k):
            x, first_rms, memory = carry
            g = gradient(x, problems.condition, problems.observed) * half
            rms = jnp.sqrt(jnp.mean(g**2, axis=-1) + _GRADIENT_FLOOR**2)
            first_rms = jnp.where(k == 0, rms, first_rms)
            features = self._features(
                (x - centre) / half, g / rms[:, None], jnp.log(rms / first_rms),
                k.astype(dtype) / self.iterations, memory,
            )
            output = self.module.apply({"params": params}, features)
            if isinstance(self.module, UpdateConv):
                # Memory through a ReLU, as Adler & Öktem's: bounded below, so it cannot
                # swing between signs from one iteration to the next.
                update, memory = output[..., 0].reshape(n, -1), jax.nn.relu(output[..., 1:])
            else:
                update = output.reshape(n, -1)
            x = x + half * update
            if self.project:
                x = jnp.clip(x, self.lower, self.upper)
            return (x, first_rms, memory), None

        # lax.scan over the K iterations: the body (a forward solve and its gradient) is
        # compiled once instead of K times. Measured on 2 CPU cores, K = 10: first step
        # (compilation) 2.3 s / 5.8 s and step 1.9 / 15.8 ms with scan, 4.7 s / 11.9 s and
        # 4.9 / 18.3 ms fully unrolled (wave packet n = 64 / tiny KS n = 8, MLP). A conv Λ is
        # the exception: XLA's CPU convolutions lose their fast kernels inside a loop (CT
        # 32 x 32, n = 16, features [16, 16]: 2.06 s per step rolled, 0.34 s unrolled), so its
        # scan is unrolled. jax.checkpoint keeps one iterate per step for the backward pass,
        # not the solves' intermediates.
        body = jax.checkpoint(iterate, prevent_cse=False) if self.checkpoint else iterate
        unroll = self.iterations if isinstance(self.module, UpdateConv) else 1
        initial = (self.starts(problems), jnp.ones(n, dtype), self._empty_memory(n))
        (solution, _, _), _ = jax.lax.scan(
            body, initial, jnp.arange(self.iterations), unroll=unroll
        )
        return solution


def joint_loss(params, state, data):
    """sum_i L_i(x_K(y_i)) over the n problems (no labels); monitored: their L/n."""
    descent, problems = data
    total = jnp.sum(descent.problem.losses(descent(params, problems), problems))
    return total, (state, total / problems.n)


def supervised_loss(params, state, data):
    """sum_j ||(x_K(y_j) - xi_j) / (upper - lower)||² over the labelled training set (or the
    step's minibatch of it); the problems' L/n is ``supervised_monitor``'s."""
    descent, training_set, _ = data
    scale = descent.upper - descent.lower
    error = jnp.sum(((descent(params, training_set) - training_set.solution) / scale) ** 2)
    return error, (state, error)


def supervised_monitor(params, state, data):
    """The problems' L/n at their own x_K: K more solves of all n problems, so it runs only
    every ``training.monitor_every``-th step."""
    descent, _, problems = data
    return jnp.mean(descent.problem.losses(descent(params, problems), problems))


LOSSES = {"joint": joint_loss, "supervised": supervised_loss}
MONITORS = {"joint": None, "supervised": supervised_monitor}


@jax.jit
def _unrolled(descent: UnrolledDescent, params: dict, problems: ProblemSet) -> Array:
    return descent(params, problems)


def _reconstruction_shape(problem: Problem) -> tuple[int, ...]:
    """The shape of ``network_input`` of one problem, traced abstractly (nothing is simulated)."""
    sample = jax.eval_shape(lambda key: problem.sample(key, 1), jax.random.PRNGKey(0))
    shape = jax.eval_shape(
        problem.network_input,
        jax.ShapeDtypeStruct(sample.observed.shape[1:], sample.observed.dtype),
        jax.ShapeDtypeStruct(sample.condition.shape[1:], sample.condition.dtype),
    )
    return tuple(shape.shape)


@jax.jit
def _starts(descent: UnrolledDescent, problems: ProblemSet) -> Array:
    return descent.starts(problems)


@dataclasses.dataclass(frozen=True)
class LearnedGradient(Method):
    """Learn one optimiser step Λ_θ, shared by K unrolled iterations on the TRUE loss.

    x_0 is BFGS's start (``Problem.prior_mean``), or with ``start: reconstruction`` each
    problem's classical reconstruction (CT's FBP, MRI's zero-filled image: the literature's
    learned gradient); x_{k+1} = x_k + Λ_θ(x_k, ∇_x L(x_k), k / K)
    in the box's unit coordinate with a normalised gradient (``UnrolledDescent``); the
    estimate is x_K. Λ is an MLP for vector unknowns and a small fully convolutional net on
    the image grid for image unknowns (``network.kind`` mlp | conv, chosen by the unknown's
    shape when left out). θ is trained by full-batch Adam (``lio.methods.training.train``),
    back-propagating through all K iterations (each ``jax.checkpoint``-ed), in one of two modes:

    - ``supervised``: on the labelled training set, sum_j ||(x_K(y_j) - xi_j) / (upper -
      lower)||² (Adler & Öktem's training; the box scaling as in ``Supervised``), over the
      whole set or a minibatch per step (``training.batch_size``); the curve is the problems'
      L/n every ``training.monitor_every``-th step.
    - ``joint`` (default; ours): on the n problems' own losses, sum_i L_i(x_K(y_i)), the
      paper's Eq. 2 applied to an optimiser instead of a reparameterisation; no labels.

    Finishes after a fixed number of steps ("completed"); fails like the other networks by a
    non-finite loss ("diverged", e.g. an iterate pushed where the simulator blows up), or by
    learning steps that help on average and hurt single examples.

    ``project`` (default true) keeps every iterate in the prior's box, as the scaled tanh keeps
    the other networks' estimates there. Unconfined, joint training finds estimates no problem
    of the prior has whenever they lower the loss: on the wave packet (calibrated rate 1e-2)
    it moved every packet out of the observed window, where the prediction is flat and the loss
    (the observation's energy) beat BFGS's wrong local fits on 88 % of the problems, with every
    estimate outside the box and none in the truth's basin (the record's axis, before this).
    """

    name: ClassVar[str] = "learned_gradient"
    network_input: ClassVar[str] = "iterate"
    # The class's value is the default mode's (joint: no labels); an instance's follows its
    # mode (set in __post_init__), and the workflow reads it from the instance.
    needs_training_set: ClassVar[bool] = False
    mode: str = "joint"
    iterations: int = 10
    network: dict[str, Any] = dataclasses.field(default_factory=dict)
    training: TrainSettings = TrainSettings()
    project: bool = True
    start: str = "prior_mean"
    memory: int = 0

    def __post_init__(self):
        if not isinstance(self.project, bool):
            raise ValueError(
                f"learned_gradient: project must be true or false (confine the iterates to the "
                f"prior's box), got {self.project!r}."
            )
        if self.mode not in MODES:
            raise ValueError(
                f"learned_gradient: mode {self.mode!r} is not known; expected one of "
                f"{list(MODES)} (joint: the problems' own losses; supervised: the labelled "
                "training set)."
            )
        if isinstance(self.iterations, bool) or not isinstance(self.iterations, int) or self.iterations < 1:
            raise ValueError(
                f"learned_gradient: iterations must be an integer >= 1 (the unrolled steps K), "
                f"got {self.iterations!r}; try 10."
            )
        if self.start not in STARTS:
            raise ValueError(
                f"learned_gradient: start {self.start!r} is not known; expected one of "
                f"{list(STARTS)} (prior_mean: BFGS's start; reconstruction: each problem's "
                "classical reconstruction, e.g. CT's filtered back-projection)."
            )
        if isinstance(self.memory, bool) or not isinstance(self.memory, int) or self.memory < 0:
            raise ValueError(
                f"learned_gradient: memory must be an integer >= 0 (channels carried between "
                f"iterations of a conv update), got {self.memory!r}; try 0 or 5."
            )
        network_spec(self.network)
        object.__setattr__(self, "needs_training_set", self.mode == "supervised")

    def check(self, problem: Problem) -> None:
        refuse_memory_off_grid(
            self.memory, network_spec(self.network, problem.solution_shape)["kind"], problem.solution_shape
        )
        if self.start == "reconstruction":
            given = _reconstruction_shape(problem)
            if given != tuple(problem.solution_shape):
                raise ValueError(
                    f"learned_gradient: start 'reconstruction' needs a classical reconstruction "
                    f"on the solution's grid {tuple(problem.solution_shape)}, but {problem.name}'s "
                    f"network input has shape {given}; use start 'prior_mean'."
                )

    def descent(self, problem: Problem, dtype=jnp.float32, checkpoint: bool = True) -> UnrolledDescent:
        """The unrolled optimiser this method trains, on ``problem`` in ``dtype``."""
        return UnrolledDescent.create(
            problem, self.network, self.iterations, dtype, checkpoint, self.project,
            self.start, self.memory,
        )

    def training_data(self, descent: UnrolledDescent, problems: ProblemSet, training_set) -> tuple:
        """The ``data`` argument of ``LOSSES[mode]``, in the descent's dtype."""
        dtype = descent.start.dtype
        if self.mode == "joint":
            return descent, problems.astype(dtype)
        return descent, training_set.astype(dtype), problems.astype(dtype)

    def solve(
        self, problem: Problem, problems: ProblemSet, training_set: ProblemSet | None, key
    ) -> Estimate:
        if self.mode == "supervised" and training_set is None:
            raise ValueError(
                "learned_gradient: mode 'supervised' trains on the labelled training set, but "
                "none was given; pass it, or use mode 'joint'."
            )
        descent = self.descent(problem)
        params = descent.init(key)
        n = problems.n
        supervised = self.mode == "supervised"
        trained = train(
            LOSSES[self.mode], params, {}, self.training, f"{self.name} n={n}",
            self.training_data(descent, problems, training_set),
            monitor=MONITORS[self.mode],
            select=training_batches(self.training, key, at=1) if supervised else None,
        )
        problems32 = problems.astype(jnp.float32)
        solution = _unrolled(descent, trained.params, problems32)
        start = np.asarray(_starts(descent, problems32))
        return trained_estimate(problem, problems, solution, trained, self.training.steps, start)


__all__ = ["LOSSES", "MODES", "MONITORS", "STARTS", "LearnedGradient", "UnrolledDescent"]
