"""Billiards (paper §4.2): a cue shot with a zero-gradient region wherever the cue ball misses."""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from flax import struct
from jaxtyping import Array, Float, PRNGKeyArray

from lio.problems.base import Problem, ProblemSet


def _safe_norm(v: Array) -> Array:
    """|v| with a finite gradient at v = 0 (the double-where trick)."""
    squared = jnp.sum(v**2)
    positive = squared > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, squared, 1.0)), 0.0)


class Billiards(Problem):
    """Find the cue ball's initial velocity so that the second ball comes to rest on a target.

    Two equal balls of radius ``radius`` on an open table (no cushions; table units). The cue
    ball starts at ``p1`` with velocity ``v0`` (the unknown, table units per second), the second
    ball rests at ``p2``; both decelerate at ``deceleration`` (constant rolling friction, so a ball
    with speed ``u`` travels ``u^2 / (2 a)`` in a straight line before it stops). If the cue ball's
    path touches ball 2 before it stops, the balls collide with restitution ``restitution`` along
    the line of centres (frictionless contact): ball 2 leaves with ``(1 + e) / 2 (u . n) n``.
    Observation: where ball 2 comes to rest (2 numbers); the condition is ``(p1, p2)`` (known);
    every problem's observation is the fixed ``target``.

    Notes:
        The collision is computed exactly from its event (first root of
        ``|p1 + s d - p2| = 2 r`` along the path), not by time stepping, so the rest position is
        a smooth function of ``v0`` wherever the balls collide. Where they do not, ball 2 never
        moves: the loss is constant and its gradient exactly zero, which stops gradient-based
        optimisers (the point of the experiment). The ground truth is known in closed form: the
        velocity whose contact sends ball 2 straight to the target.

    Good values:
        ``radius = 0.03``, ``deceleration = 1``, ``restitution = 0.9``; cue ball near (0.5, 0.2),
        ball 2 near (0.5, 0.5) with ±0.1 sideways jitter, target (0.5, 0.9): the initial guess
        ``v0 = (0, 1.2)`` (straight up, about the head-on speed) hits ball 2 for roughly a third of
        the problems and misses the rest.

    Reference:
        Holl & Thuerey, §4.2, after the differentiable billiards of Hu et al. (DiffTaichi, 2020).
    """

    name: ClassVar[str] = "billiards"
    example_panels: ClassVar[tuple[str, ...]] = ("a",)
    parameter_names: ClassVar[tuple[str, ...]] = ("vx", "vy")

    radius: float = struct.field(pytree_node=False, default=0.03)
    deceleration: float = struct.field(pytree_node=False, default=1.0)
    restitution: float = struct.field(pytree_node=False, default=0.9)
    cue_centre: tuple[float, float] = struct.field(pytree_node=False, default=(0.5, 0.2))
    cue_jitter: float = struct.field(pytree_node=False, default=0.05)
    ball_centre: tuple[float, float] = struct.field(pytree_node=False, default=(0.5, 0.5))
    ball_jitter: tuple[float, float] = struct.field(pytree_node=False, default=(0.1, 0.05))
    target: tuple[float, float] = struct.field(pytree_node=False, default=(0.5, 0.9))
    initial_guess: tuple[float, float] = struct.field(pytree_node=False, default=(0.0, 1.2))
    velocity_low: tuple[float, float] = struct.field(pytree_node=False, default=(-1.5, 0.0))
    velocity_high: tuple[float, float] = struct.field(pytree_node=False, default=(1.5, 3.0))

    def __post_init__(self):
        for field in ("radius", "deceleration"):
            if not getattr(self, field) > 0:
                raise ValueError(f"billiards: {field} must be > 0, got {getattr(self, field)}.")
        if not 0 <= self.restitution <= 1:
            raise ValueError(f"billiards: restitution must be in [0, 1], got {self.restitution}.")
        if not all(lo < hi for lo, hi in zip(self.velocity_low, self.velocity_high)):
            raise ValueError(
                f"billiards: velocity_low={list(self.velocity_low)} must be below "
                f"velocity_high={list(self.velocity_high)} in each component."
            )

    # -- physics ------------------------------------------------------------------------------
    def collide(self, v0: Array, p1: Array, p2: Array) -> tuple[Array, Array, Array, Array]:
        """Event of the cue shot: (hit?, contact distance along the path, cue velocity just
        before contact, ball-2 velocity just after)."""
        speed = _safe_norm(v0)
        direction = v0 / jnp.where(speed > 0, speed, 1.0)
        reach = speed**2 / (2 * self.deceleration)
        offset = p2 - p1
        along = jnp.dot(direction, offset)
        discriminant = along**2 - (jnp.dot(offset, offset) - 4 * self.radius**2)
        touching = discriminant > 0
        contact = along - jnp.sqrt(jnp.where(touching, discriminant, 1.0))
        hit = touching & (contact > 0) & (contact < reach) & (speed > 0)
        contact = jnp.where(hit, contact, 0.0)
        speed_at_contact = jnp.sqrt(jnp.where(hit, speed**2 - 2 * self.deceleration * contact, 1.0))
        cue_velocity = speed_at_contact * direction
        normal = (p2 - (p1 + contact * direction)) / (2 * self.radius)
        ball_velocity = (1 + self.restitution) / 2 * jnp.dot(cue_velocity, normal) * normal
        return hit, contact, cue_velocity, ball_velocity

    def rest_offset(self, velocity: Array) -> Array:
        """How far a ball with ``velocity`` slides before it stops: ``v |v| / (2 a)``."""
        return velocity * _safe_norm(velocity) / (2 * self.deceleration)

    def forward(self, solution: Float[Array, " 2"], condition: Float[Array, " 4"]) -> Array:
        p1, p2 = condition[:2], condition[2:]
        hit, _, _, ball_velocity = self.collide(solution, p1, p2)
        return jnp.where(hit, p2 + self.rest_offset(ball_velocity), p2)

    # -- sampling -----------------------------------------------------------------------------
    def sample_condition(self, key: PRNGKeyArray, n: int) -> Array:
        dtype = jnp.result_type(float)
        key_cue, key_ball = jax.random.split(key)
        cue = jnp.asarray(self.cue_centre, dtype) + self.cue_jitter * jax.random.uniform(
            key_cue, (n, 2), dtype, -1.0, 1.0
        )
        ball = jnp.asarray(self.ball_centre, dtype) + jnp.asarray(
            self.ball_jitter, dtype
        ) * jax.random.uniform(key_ball, (n, 2), dtype, -1.0, 1.0)
        return jnp.concatenate([cue, ball], axis=1)

    def exact_shot(self, condition: Array) -> Array:
        """The v0 that sends ball 2 straight to the target (closed form, one problem)."""
        p1, p2 = condition[:2], condition[2:]
        to_target = jnp.asarray(self.target, condition.dtype) - p2
        distance = jnp.linalg.norm(to_target)
        normal = to_target / distance
        ball_speed = jnp.sqrt(2 * self.deceleration * distance)
        contact_point = p2 - 2 * self.radius * normal
        path = contact_point - p1
        travel = jnp.linalg.norm(path)
        direction = path / travel
        cue_speed = 2 * ball_speed / ((1 + self.restitution) * jnp.dot(direction, normal))
        return direction * jnp.sqrt(cue_speed**2 + 2 * self.deceleration * travel)

    def sample_solution(self, key: PRNGKeyArray, n: int) -> tuple[Array, Array]:
        condition = self.sample_condition(key, n)
        return jax.vmap(self.exact_shot)(condition), condition

    def sample_training_set(self, key: PRNGKeyArray, n: int) -> ProblemSet:
        """P(v0) is not known (paper §4.2): vary v0 over the box, simulate, and label each
        simulated rest position with the v0 that produced it."""
        key_condition, key_velocity = jax.random.split(key)
        condition = self.sample_condition(key_condition, n)
        lower, upper = self.bounds
        velocity = jax.random.uniform(key_velocity, (n, 2), lower.dtype, lower, upper)
        observed = jax.vmap(self.forward)(velocity, condition)
        return ProblemSet(solution=velocity, condition=condition, observed=observed)

    @property
    def bounds(self) -> tuple[Array, Array]:
        dtype = jnp.result_type(float)
        return jnp.asarray(self.velocity_low, dtype), jnp.asarray(self.velocity_high, dtype)

    @property
    def prior_mean(self) -> Array:
        """BFGS's start: a fixed straight shot (the solution prior is unknown)."""
        return jnp.asarray(self.initial_guess, jnp.result_type(float))

    # -- figure panel (a) ----------------------------------------------------------------------
    def draw_example(self, ax, problems: ProblemSet, index: int, panel: str) -> str:
        """Panel (a), a sketch: balls, target, and the trajectories of the exact shot and of
        BFGS's start. Returns the panel's title."""
        import matplotlib.patches as patches
        import numpy as np

        condition = problems.condition[index]
        p1, p2 = np.asarray(condition[:2]), np.asarray(condition[2:])
        shots = (("exact shot", problems.solution[index], "#d62728"), ("initial guess", self.prior_mean, "#444444"))
        for label, v0, color in shots:
            hit, contact, cue_velocity, ball_velocity = self.collide(v0, condition[:2], condition[2:])
            speed = float(np.linalg.norm(v0))
            direction = np.asarray(v0) / speed
            if bool(hit):
                stop = p1 + float(contact) * direction
                after = np.asarray(cue_velocity - ball_velocity)
                cue_rest = stop + np.asarray(self.rest_offset(after))
                ball_rest = p2 + np.asarray(self.rest_offset(ball_velocity))
                ax.plot(*np.stack([p2, ball_rest]).T, color=color, lw=1.2, ls="--")
                ax.plot(*np.stack([stop, cue_rest]).T, color=color, lw=0.6, ls=":")
            else:
                stop = p1 + speed**2 / (2 * self.deceleration) * direction
            ax.plot(*np.stack([p1, stop]).T, color=color, lw=1.2, label=label)
        ax.add_patch(patches.Circle(p1, self.radius, color="white", ec="k", zorder=3))
        ax.add_patch(patches.Circle(p2, self.radius, color="#ffcc00", ec="k", zorder=3))
        ax.plot(*self.target, marker="x", color="k", ms=7, mew=2, label="target")
        ax.set_aspect("equal")
        ax.set_xlim(0.1, 0.9)
        ax.set_ylim(0.05, 1.0)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.legend(frameon=False, fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
        return "example"
