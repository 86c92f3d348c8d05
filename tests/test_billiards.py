"""Billiards physics: collision laws, energy, rest, closed forms, and the zero-gradient miss."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lio.problems import Billiards, make_problem

PROBLEM = Billiards()
P1, P2 = jnp.array([0.5, 0.2]), jnp.array([0.52, 0.5])  # slightly off-centre: an oblique hit
CONDITION = jnp.concatenate([P1, P2])


def test_momentum_is_conserved_and_normal_velocity_reverses_by_restitution():
    hit, contact, before, ball_after = PROBLEM.collide(jnp.array([0.0, 1.5]), P1, P2)
    assert bool(hit)
    cue_after = before - ball_after
    # Equal masses: u = u' + w exactly; relative normal velocity reverses scaled by e.
    np.testing.assert_allclose(cue_after + ball_after, before, atol=1e-15)
    normal = (P2 - (P1 + contact * before / jnp.linalg.norm(before))) / (2 * PROBLEM.radius)
    np.testing.assert_allclose(jnp.linalg.norm(normal), 1.0, atol=1e-12)  # contact at 2r
    np.testing.assert_allclose(
        jnp.dot(ball_after - cue_after, normal), PROBLEM.restitution * jnp.dot(before, normal), atol=1e-14
    )


@pytest.mark.parametrize("restitution", [0.0, 0.5, 0.9, 1.0])
def test_kinetic_energy_never_increases(restitution):
    problem = Billiards(restitution=restitution)
    for vx in np.linspace(-0.2, 0.2, 9):
        hit, _, before, ball_after = problem.collide(jnp.array([vx, 1.5]), P1, P2)
        if bool(hit):
            cue_after = before - ball_after
            lost = jnp.sum(before**2) - jnp.sum(cue_after**2) - jnp.sum(ball_after**2)
            assert float(lost) >= -1e-13  # equality only for e = 1 (elastic); 1e-13: float64 round-off of |u|^2 ~ 2
            if restitution == 1.0:
                assert abs(float(lost)) < 1e-12


def test_a_ball_at_rest_stays_at_rest():
    np.testing.assert_array_equal(PROBLEM.forward(jnp.zeros(2), CONDITION), P2)
    hit, *_ = PROBLEM.collide(jnp.zeros(2), P1, P2)
    assert not bool(hit)
    assert np.all(np.isfinite(jax.grad(lambda v: jnp.sum(PROBLEM.forward(v, CONDITION)))(jnp.zeros(2))))


def test_head_on_collision_matches_the_closed_form():
    p2 = jnp.array([0.5, 0.5])
    v0 = jnp.array([0.0, 1.5])
    hit, contact, before, ball_after = PROBLEM.collide(v0, P1, p2)
    e, a = PROBLEM.restitution, PROBLEM.deceleration
    distance = 0.3 - 2 * PROBLEM.radius
    np.testing.assert_allclose(contact, distance, atol=1e-14)
    speed = np.sqrt(1.5**2 - 2 * a * distance)  # constant deceleration
    np.testing.assert_allclose(before, [0.0, speed], atol=1e-14)
    np.testing.assert_allclose(ball_after, [0.0, (1 + e) / 2 * speed], atol=1e-14)
    np.testing.assert_allclose(before - ball_after, [0.0, (1 - e) / 2 * speed], atol=1e-14)
    rest = PROBLEM.forward(v0, jnp.concatenate([P1, p2]))
    np.testing.assert_allclose(rest, [0.5, 0.5 + ((1 + e) / 2 * speed) ** 2 / (2 * a)], atol=1e-14)


def test_exact_shot_sends_ball_two_to_the_target():
    problems = PROBLEM.sample(jax.random.PRNGKey(0), 64)
    assert float(jnp.max(PROBLEM.losses(problems.solution, problems))) < 1e-24


def test_gradient_is_exactly_zero_on_a_miss():
    target = jnp.asarray(PROBLEM.target)
    for v0 in ([1.0, 0.5], [0.0, 0.5], [-1.0, 2.0]):  # sideways, too slow, wrong direction
        v0 = jnp.array(v0)
        assert not bool(PROBLEM.collide(v0, P1, P2)[0])
        grad = jax.grad(PROBLEM.loss)(v0, CONDITION, target)
        np.testing.assert_array_equal(grad, [0.0, 0.0])


def test_gradient_on_a_hit_is_finite_and_matches_finite_differences():
    target = jnp.asarray(PROBLEM.target)
    v0 = jnp.array([0.05, 1.4])
    assert bool(PROBLEM.collide(v0, P1, P2)[0])
    grad = jax.grad(PROBLEM.loss)(v0, CONDITION, target)
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)
    h = 1e-6
    for i in range(2):
        e = jnp.zeros(2).at[i].set(h)
        central = (PROBLEM.loss(v0 + e, CONDITION, target) - PROBLEM.loss(v0 - e, CONDITION, target)) / (2 * h)
        # Smooth away from grazing contact: central differences agree to O(h^2) ~ 1e-10.
        np.testing.assert_allclose(grad[i], central, rtol=1e-6, atol=1e-9)


def test_training_set_labels_simulated_shots_with_their_velocity():
    training = PROBLEM.sample_training_set(jax.random.PRNGKey(1), 32)
    simulated = jax.vmap(PROBLEM.forward)(training.solution, training.condition)
    np.testing.assert_array_equal(training.observed, simulated)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"radius": 0.0}, "radius must be > 0"),
        ({"restitution": 1.5}, r"restitution must be in \[0, 1\], got 1.5"),
        ({"velocity_low": [2.0, 0.0]}, r"velocity_low=\[2.0, 0.0\] must be below"),
    ],
)
def test_bad_parameters_are_named(params, match):
    with pytest.raises(ValueError, match=match):
        make_problem("billiards", params)


def test_bfgs_and_refinement_report_a_miss_as_zero_gradient_not_converged():
    import dataclasses

    from lio.methods import STATUS, BFGSSettings, make_method, refine

    problems = PROBLEM.sample(jax.random.PRNGKey(3), 32)
    start = np.broadcast_to(np.asarray(PROBLEM.prior_mean), (32, 2))
    hits = np.array([bool(PROBLEM.collide(jnp.asarray(v), c[:2], c[2:])[0])
                     for v, c in zip(start, np.asarray(problems.condition))])
    assert 0 < hits.sum() < 32  # the straight start hits some second balls and misses others
    baseline = make_method("bfgs", {}, BFGSSettings()).solve(PROBLEM, problems, None, jax.random.PRNGKey(0))
    names = np.array([STATUS[s] for s in baseline.status])
    assert set(names[~hits]) == {"zero_gradient"}  # it could not move: not "converged"
    assert "zero_gradient" not in set(names[hits])
    np.testing.assert_array_equal(baseline.solution[~hits], start[~hits])
    # Refinement from estimates that miss reports the same.
    refined = refine(PROBLEM, problems, dataclasses.replace(baseline, solution=start.copy()), BFGSSettings())
    assert set(np.array([STATUS[s] for s in refined.status])[~hits]) == {"zero_gradient"}
