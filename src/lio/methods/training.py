"""Adam training shared by the learned methods: full batch (the paper's networks), or minibatches
of a labelled training set (``TrainSettings.batch_size``, ``minibatch``).

The step is jitted and called from a Python loop: on a 2-core CPU this ran ~17x faster than the
same step inside ``lax.scan`` (XLA's CPU backend loses its fast conv kernels inside loops). The
loop never waits for a step: losses are read back in blocks of ``_CHECK_EVERY`` steps (or
``log_every``, if smaller), so dispatch of the next steps overlaps the device's work.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct


_CHECK_EVERY = 50  # steps dispatched between host reads of the losses (divergence check)


SCHEDULES = ("constant", "cosine")


class TrainSettings(struct.PyTreeNode):
    """Adam hyperparameters of one learned method (from config).

    Attributes:
        learning_rate: Adam step size (paper: decreased until training converges stably).
        steps: full-batch Adam steps.
        log_every: print progress every this many steps (0: never).
        monitor_every: with a separate ``monitor`` (``train``), evaluate it before every this
            many-th step and after the last (the curve is NaN between): for a monitored value
            that costs a simulation of all problems, as supervised training's true L/n does.
        batch_size: labelled examples per Adam step, for methods that learn from a training
            set (``minibatch``); 0 uses the whole set every step (full batch, the paper's
            networks). Methods without a training set ignore it.
        schedule: ``constant`` (the paper's networks) or ``cosine``: the rate decays from
            ``learning_rate`` to 0 over the steps (optax's cosine decay; unrolled schemes are
            trained with a decaying rate, Adler & Öktem 2017's by inverse-time decay).
        clip_norm: the gradient's global norm is clipped to this before Adam (optax's
            ``clip_by_global_norm``; unrolled schemes' gradients spike); 0: no clipping.
    """

    learning_rate: float = struct.field(pytree_node=False, default=1e-3)
    steps: int = struct.field(pytree_node=False, default=1000)
    log_every: int = struct.field(pytree_node=False, default=100)
    monitor_every: int = struct.field(pytree_node=False, default=1)
    batch_size: int = struct.field(pytree_node=False, default=0)
    schedule: str = struct.field(pytree_node=False, default="constant")
    clip_norm: float = struct.field(pytree_node=False, default=0.0)

    def __post_init__(self):
        if not self.learning_rate > 0:
            raise ValueError(
                f"learning_rate must be > 0, got {self.learning_rate}; try 1e-3."
            )
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}.")
        if isinstance(self.monitor_every, bool) or not isinstance(self.monitor_every, int) or (
            self.monitor_every < 1
        ):
            raise ValueError(
                f"monitor_every must be an integer >= 1, got {self.monitor_every!r}; 1 "
                "monitors every step, 10 every tenth."
            )
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or (
            self.batch_size < 0
        ):
            raise ValueError(
                f"batch_size must be an integer >= 0, got {self.batch_size!r}; 0 trains on the "
                "whole training set every step, 16 on 16 of its examples."
            )
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"schedule must be one of {list(SCHEDULES)}, got {self.schedule!r}; constant "
                "keeps the rate, cosine decays it to 0 over the steps."
            )
        if isinstance(self.clip_norm, bool) or not self.clip_norm >= 0:
            raise ValueError(
                f"clip_norm must be a number >= 0 (0: no clipping), got {self.clip_norm!r}; try 1."
            )

    def optimizer(self) -> optax.GradientTransformation:
        """Adam at ``learning_rate`` (cosine-decayed with ``schedule: cosine``), after global
        norm clipping when ``clip_norm`` > 0."""
        rate = self.learning_rate
        if self.schedule == "cosine":
            rate = optax.cosine_decay_schedule(self.learning_rate, self.steps)
        adam = optax.adam(rate)
        return optax.chain(optax.clip_by_global_norm(self.clip_norm), adam) if self.clip_norm else adam


LossFn = Callable[[Any, Any, Any], tuple[jax.Array, tuple[Any, jax.Array]]]
MonitorFn = Callable[[Any, Any, Any], jax.Array]
SelectFn = Callable[[Any, jax.Array], Any]


_BATCH_STREAM = 0x5EED  # folded into a method's init key for its minibatch order


def batch_key(key: jax.Array) -> jax.Array:
    """The key of a method's minibatch order, apart from its network's initialisation."""
    return jax.random.fold_in(key, _BATCH_STREAM)


def training_batches(settings: TrainSettings, key: jax.Array, at: int | None = None) -> SelectFn | None:
    """``train``'s ``select``: minibatches of ``settings.batch_size`` (None, full batch, when it
    is 0) of the training set, which is item ``at`` of a ``data`` tuple, or with ``at`` None
    every leaf of ``data`` itself (rows of examples)."""
    if not settings.batch_size:
        return None
    order = batch_key(key)

    def select(data, step):
        if at is None:
            return minibatch(data, step, settings.batch_size, order)
        batch = minibatch(data[at], step, settings.batch_size, order)
        return (*data[:at], batch, *data[at + 1 :])

    return select


def minibatch(examples: Any, step: jax.Array, batch_size: int, key: jax.Array) -> Any:
    """The ``batch_size`` examples (rows of every leaf) that Adam step ``step`` trains on.

    Epochs of shuffled examples: the k-th example of the run is row ``perm_e[k mod N]`` of
    epoch ``e = k // N``, each epoch's permutation drawn from ``fold_in(key, e)``. A step's batch
    may straddle two epochs; every example is seen once per epoch. Traceable (``step`` may be
    a traced integer). ``batch_size`` 0 or >= N returns ``examples`` whole.
    """
    size = jax.tree.leaves(examples)[0].shape[0]
    if batch_size <= 0 or batch_size >= size:
        return examples
    position = step * batch_size + jnp.arange(batch_size)
    epoch, offset = position // size, position % size
    first = jax.random.permutation(jax.random.fold_in(key, epoch[0]), size)
    second = jax.random.permutation(jax.random.fold_in(key, epoch[0] + 1), size)
    rows = jnp.where(epoch == epoch[0], first[offset], second[offset])
    return jax.tree.map(lambda leaf: jnp.take(leaf, rows, axis=0), examples)


class Trained(NamedTuple):
    """Outcome of ``train``: final variables, the monitored curve, wall time (s), whether
    training stopped early on a non-finite loss (``params`` are then the last finite ones), and
    the wall time of the first step (s), which includes compiling it, and the mean wall time of
    the later steps (s)."""

    params: Any
    state: Any
    curve: np.ndarray
    wall_time: float
    diverged: bool
    first_step_time: float
    step_time: float


def train(
    loss_fn: LossFn,
    params: Any,
    state: Any,
    settings: TrainSettings,
    label: str,
    data: Any = None,
    monitor: MonitorFn | None = None,
    select: SelectFn | None = None,
) -> Trained:
    """Minimise ``loss_fn`` with Adam.

    Args:
        loss_fn: ``(params, state, data) -> (loss, (new_state, monitored))``; ``state``
            holds non-trained variables (batch statistics), ``monitored`` is the value recorded
            in the optimisation curve (e.g. the inverse problems' L/n).
        params, state: initial variables.
        settings: learning rate, steps, logging.
        label: printed with the progress lines.
        data: pytree of the arrays ``loss_fn`` reads (problems, input scalings), passed to the
            compiled step as an argument. ``loss_fn`` must not close over data-dependent
            arrays: closed-over arrays are baked into the compiled step as constants, so every
            seed would compile its own step instead of loading it from the cache.
        monitor: ``(params, new_state, data) -> monitored``, recorded instead of
            ``loss_fn``'s ``monitored`` (which is then ignored), before every
            ``settings.monitor_every``-th step and after the last one, and NaN elsewhere in
            the curve. It runs in a real branch of the compiled step, so unmonitored steps
            do not pay for it. ``new_state`` is ``loss_fn``'s, as its ``monitored`` sees it.
        select: ``(data, step) -> data``: what step ``step`` (a traced integer) trains on,
            e.g. a ``minibatch`` of the training set inside ``data``; None trains every step
            on ``data`` itself (full batch). ``monitor`` sees the whole ``data``.

    Returns:
        ``Trained``: params, final state, the curve of ``monitored`` before each step and after
        the last one (``steps + 1`` values), the wall time in seconds, and ``diverged``.

    A non-finite loss stops training early, keeping the last finite variables; the curve is
    NaN from there on and the caller marks the examples as diverged.
    """
    optimizer = settings.optimizer()
    opt_state = optimizer.init(params)

    @jax.jit
    def step(carry, data, monitor_now, index):
        params, state, opt_state, good, frozen = carry
        batch = data if select is None else select(data, index)
        (loss, (new_state, monitored)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            params, state, batch
        )
        if monitor is not None:
            # An unbatched predicate: lax.cond runs one branch, so skipped steps cost nothing.
            monitored = jax.lax.cond(
                monitor_now,
                lambda: jnp.asarray(monitor(params, new_state, data), jnp.float32),
                lambda: jnp.asarray(jnp.nan, jnp.float32),
            )
        updates, new_opt_state = optimizer.update(grads, opt_state, params)
        # Decided on the device, so the host need not wait for every step's loss: a
        # non-finite loss freezes the variables and ``good`` keeps the last ones whose loss
        # was finite; the host notices at its next check.
        frozen = frozen | ~jnp.isfinite(loss)
        keep = lambda old, new: jax.tree.map(  # noqa: E731
            lambda a, b: jnp.where(frozen, a, b), old, new
        )
        good = keep(good, (params, state))
        carry = (
            keep(params, optax.apply_updates(params, updates)),
            keep(state, new_state),
            keep(opt_state, new_opt_state),
            good,
            frozen,
        )
        return carry, loss, monitored

    check_every = max(1, min(settings.log_every or _CHECK_EVERY, _CHECK_EVERY))
    curve = np.full(settings.steps + 1, np.nan)
    carry = (params, state, opt_state, (params, state), jnp.asarray(False))
    pending: list[tuple[jax.Array, jax.Array]] = []  # (loss, monitored) not yet read back
    diverged = False
    start = time.perf_counter()
    for index in range(settings.steps):
        carry, loss, monitored = step(
            carry, data, index % settings.monitor_every == 0, jnp.asarray(index, jnp.int32)
        )
        pending.append((loss, monitored))
        if index == 0:  # the one wait outside the checks: it times compilation
            jax.block_until_ready(loss)
            first_step_time = time.perf_counter() - start
            if settings.log_every:
                _progress(label, 1, settings.steps, loss, monitored, first_step_time)
        last = index == settings.steps - 1
        if not (last or (index + 1) % check_every == 0):
            continue
        losses, monitors = (np.asarray(v, np.float64) for v in jax.device_get(tuple(zip(*pending))))
        first = index + 1 - len(pending)
        pending.clear()
        bad = np.flatnonzero(~np.isfinite(losses))
        if bad.size:
            stop = first + int(bad[0])
            curve[first:stop] = monitors[: bad[0]]
            print(f"[{label}] step {stop}: loss is {losses[bad[0]]}; stopping training", flush=True)
            diverged = True
            break
        curve[first : index + 1] = monitors
        if settings.log_every and ((index + 1) % settings.log_every == 0 or last):
            _progress(label, index + 1, settings.steps, losses[-1], _last_finite(monitors),
                      time.perf_counter() - start, first_step_time)
    loop_time = time.perf_counter() - start
    params, state, _, good, _ = carry
    if not diverged:
        # The final loss from one more (discarded) step: the step is compiled already, and its
        # ``good`` is the final variables if that loss is finite, the previous ones if not.
        (_, _, _, good, _), loss, monitored = step(
            carry, data, True, jnp.asarray(settings.steps, jnp.int32)
        )
        curve[-1] = float(monitored)
        diverged = not math.isfinite(float(loss))
    if diverged:
        params, state = good
    wall_time = time.perf_counter() - start
    step_time = (loop_time - first_step_time) / max(index, 1)  # index + 1 steps ran
    return Trained(params, state, curve, wall_time, diverged, first_step_time, step_time)


def _progress(
    label: str, step: int, steps: int, loss, monitored, elapsed: float, first_step: float | None = None
) -> None:
    """One job-log line: step, loss, monitored value, elapsed seconds and, after the first
    (compiling) step, the rate of the steps since and the time left at that rate."""
    rate = ""
    if first_step is not None and step > 1 and elapsed > first_step:
        per_second = (step - 1) / (elapsed - first_step)
        rate = f"  {per_second:.3g} steps/s, {(steps - step) / per_second:.0f}s left"
    print(
        f"[{label}] step {step:>5}/{steps}  loss {float(loss):.6g}  "
        f"monitored {float(monitored):.6g}  {elapsed:.1f}s{rate}",
        file=sys.stdout,
        flush=True,
    )


def _last_finite(values: np.ndarray) -> float:
    """The last finite value (the latest monitored one), NaN if there is none."""
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if finite.size else float("nan")


def tree_cast(tree: Any, dtype) -> Any:
    return jax.tree.map(lambda a: jnp.asarray(a, dtype), tree)
