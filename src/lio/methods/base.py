"""The method contract: a method solves a whole problem set and returns an ``Estimate``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from jaxtyping import PRNGKeyArray

from lio.problems.base import Problem, ProblemSet

# How a BFGS run (or a network method) ended, per example; results files store the index, so
# new codes go at the end. zero_gradient / nonfinite_gradient: lio.minimize found the loss
# gradient exactly zero (at a non-zero loss) or non-finite where a stage started, so the stage
# could not move and its own "converged" would mislead (lio.api).
STATUS = ("converged", "max_steps", "diverged", "failed", "completed", "zero_gradient", "nonfinite_gradient")


@dataclasses.dataclass(frozen=True)
class Estimate:
    """What a method returns for n problems (host numpy arrays).

    Attributes:
        solution: ``(n, d)`` estimates of the unknowns.
        loss: ``(n,)`` true per-example loss at ``solution``.
        status: ``(n,)`` codes from ``STATUS``.
        iterations: ``(n,)`` BFGS iterations, or training steps for network methods.
        curve: ``(k,)`` the problems' mean true loss L/n along the optimisation (figure c).
        wall_time: seconds spent, compilation included.
        extra: method-specific scalars stored as attributes (e.g. final surrogate loss).
        initial: ``(n, d)`` where the method's search started (BFGS's start, a network's
            outputs at initialisation), or None; lio.analysis.health compares the distance to the
            hidden truth there and at ``solution`` (did training move the estimates toward it?).
    """

    solution: np.ndarray
    loss: np.ndarray
    status: np.ndarray
    iterations: np.ndarray
    curve: np.ndarray
    wall_time: float
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    initial: np.ndarray | None = None


class Method:
    """Base class of the solvers in ``METHODS``.

    ``needs_training_set`` says whether ``solve`` uses the labelled training set drawn from the
    prior (supervised, neural adjoint); read it from the instance, where a method may set it from
    its options (learned gradient's ``mode``). ``refine`` says whether BFGS refinement follows.
    ``calibrated_setting`` names the setting the calibration ladder (``lio.run.calibration``) walks
    on the calibration seeds: ``learning_rate`` (the paper's policy, for methods with a
    ``training`` block) or one of the method's own (diffusion: ``guidance``).
    """

    name: ClassVar[str] = "method"
    # What a method's ``network`` option maps from: the observations (the reparameterized and
    # supervised networks), or the iterate and its gradient (learned gradient: its default
    # network is chosen by the unknown's shape, so lio.minimize passes none).
    network_input: ClassVar[str] = "observation"
    # False for the classical baselines (BFGS, the random-start controls): nothing trains, so
    # the health check's "degenerate" (a training failure) does not apply; lio.analysis.metrics reports
    # what their flags mean instead (stuck at the start, left the box).
    learns: ClassVar[bool] = True
    needs_training_set: ClassVar[bool] = False
    refine: ClassVar[bool] = True
    calibrated_setting: ClassVar[str] = "learning_rate"
    # True where solve_seeds runs several seeds' problem sets as one batch (BFGS: every example
    # is independent); otherwise a group job (compute.runs_per_job) solves seed after seed.
    batches_seeds: ClassVar[bool] = False

    def check(self, problem: Problem) -> None:
        """Raise ValueError if this method's options do not fit ``problem`` (e.g. a network
        kind for another shape of unknown); the config check calls it before any job runs."""

    def solve(
        self,
        problem: Problem,
        problems: ProblemSet,
        training_set: ProblemSet | None,
        key: PRNGKeyArray,
    ) -> Estimate:
        raise NotImplementedError

    def solve_seeds(
        self,
        problem: Problem,
        problem_sets: Sequence[ProblemSet],
        training_sets: Sequence[ProblemSet | None],
        keys: Sequence[PRNGKeyArray],
    ) -> list[Estimate]:
        """``solve`` for each seed's problem set (its training set, its key), one estimate
        per seed. The default solves them one after another; a method with ``batches_seeds``
        overrides this to solve them as one batch, equal to one ``solve`` per seed up to float
        round-off."""
        return [
            self.solve(problem, problems, training_set, key)
            for problems, training_set, key in zip(problem_sets, training_sets, keys, strict=True)
        ]

    def solve_ladder(
        self,
        setting: str,
        values: Sequence[float],
        problem: Problem,
        problems: ProblemSet,
        training_set: ProblemSet | None,
        key: PRNGKeyArray,
    ) -> list[Estimate]:
        """``solve`` once per value of the top-level option ``setting`` (the calibration
        ladder of ``calibrated_setting``), same key each time. A method whose setting acts
        after an expensive, setting-independent stage overrides this to share that stage
        (diffusion: the denoiser is trained once, only the guided sampling repeats)."""
        return [
            dataclasses.replace(self, **{setting: value}).solve(problem, problems, training_set, key)
            for value in values
        ]
