"""Limited-memory BFGS (``bfgs.solver: lbfgs``), the per-example stopping target, and the
per-experiment ``bfgs:`` block: against scipy's L-BFGS-B, per example, and in memory."""

import copy
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
import pytest
import scipy.optimize
import yaml

from lio.methods import STATUS, BFGSSettings, minimize_batch

ROOT = Path(__file__).resolve().parents[1]


def rosenbrock(x, _):
    return jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


SCALES = jnp.logspace(0, 4, 20)  # condition number 1e4
CENTRE = jnp.linspace(-1.0, 1.0, 20)


def ill_conditioned_quadratic(x, _):
    return 0.5 * jnp.sum(SCALES * (x - CENTRE) ** 2)


def beale(x, _):
    a, b = x
    return (1.5 - a + a * b) ** 2 + (2.25 - a + a * b**2) ** 2 + (2.625 - a + a * b**3) ** 2


def styblinski_tang(x, _):
    return 0.5 * jnp.sum(x**4 - 16 * x**2 + 5 * x)


# (name, function, start, largest ratio of iteration counts). From Rosenbrock's classic start
# (-1.2, 1) optimistix's L-BFGS crawls: its Armijo-only backtracking (no Wolfe curvature
# condition, unlike scipy's line search) accepts steps with s.y < 0 in the curved valley, so it
# skips every update there and creeps along on a stale memory (measured: 672 iterations against
# scipy's 38; dense BFGS, same search, 36). It still reaches the minimum; from other starts
# (test below) and on convex problems, where s.y > 0 always, the counts agree within 2x.
CASES = [
    ("rosenbrock_2d", rosenbrock, [-1.2, 1.0], 25.0),
    ("rosenbrock_10d", rosenbrock, [-1.2, 1.0] * 5, 3.0),
    ("quadratic_20d_cond1e4", ill_conditioned_quadratic, [0.0] * 20, 3.0),
    ("beale", beale, [1.0, 1.0], 3.0),
    # four local minima per coordinate pair: this start lies in a mixed one, (-2.90, 2.75, ...)
    ("styblinski_tang_4d", styblinski_tang, [-1.0, 1.0, 3.0, -2.0], 3.0),
]


def scipy_lbfgs(function, start):
    return scipy.optimize.minimize(
        lambda x: float(function(jnp.asarray(x), None)),
        np.asarray(start),
        jac=lambda x: np.asarray(jax.grad(function)(jnp.asarray(x), None)),
        method="L-BFGS-B",  # no bounds: plain L-BFGS, memory 10 as ours
        options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 1000, "maxcor": 10},
    )


@pytest.mark.parametrize("name, function, start, factor", CASES, ids=[c[0] for c in CASES])
def test_lbfgs_matches_scipy_lbfgsb(name, function, start, factor):
    start = jnp.array([start], dtype=jnp.float64)
    settings = BFGSSettings(solver="lbfgs")
    outcome = jax.jit(lambda y0: minimize_batch(function, y0, jnp.zeros(1), settings))(start)
    reference = scipy_lbfgs(function, start[0])
    ours, theirs = int(outcome.iterations[0]), int(reference.nit)
    print(
        f"{name}: lbfgs {ours} iterations, loss {float(outcome.loss[0]):.3e}; "
        f"scipy L-BFGS-B {theirs} iterations, loss {reference.fun:.3e}; "
        f"max |x - x_scipy| {float(np.max(np.abs(outcome.solution[0] - reference.x))):.1e}"
    )
    assert STATUS[int(outcome.status[0])] == "converged"
    np.testing.assert_allclose(outcome.solution[0], reference.x, atol=1e-6)
    assert float(outcome.loss[0]) <= reference.fun + 1e-10 * max(1.0, abs(reference.fun))
    assert max(ours, theirs) <= factor * min(ours, theirs)


def test_lbfgs_iterations_are_scipys_order_on_rosenbrock_from_other_starts():
    starts = jnp.array([[0.0, 0.0], [2.0, 2.0], [1.5, -0.5], [-2.0, 3.0]])
    outcome = minimize_batch(rosenbrock, starts, jnp.zeros(4), BFGSSettings(solver="lbfgs"))
    theirs = [scipy_lbfgs(rosenbrock, s).nit for s in starts]
    print("lbfgs", np.asarray(outcome.iterations).tolist(), "scipy", theirs)
    assert all(STATUS[int(s)] == "converged" for s in outcome.status)
    np.testing.assert_allclose(outcome.solution, np.ones((4, 2)), atol=1e-6)
    for ours, reference in zip(np.asarray(outcome.iterations), theirs):
        assert max(ours, reference) <= 3 * min(ours, reference)


def test_batched_lbfgs_solves_each_example_as_alone():
    starts = jnp.array([[-1.2, 1.0] * 5, [0.0] * 10, [2.0, -1.0] * 5, [0.5] * 10])
    settings = BFGSSettings(solver="lbfgs")
    run = jax.jit(lambda y0: minimize_batch(rosenbrock, y0, jnp.zeros(len(y0)), settings))
    whole = run(starts)
    for i in range(len(starts)):
        alone = run(starts[i : i + 1])
        assert int(whole.iterations[i]) == int(alone.iterations[0])
        assert int(whole.status[i]) == int(alone.status[0])
        # vmapped dot products may round differently: equal to float64 round-off at the end
        np.testing.assert_allclose(whole.solution[i], alone.solution[0], atol=1e-10)
        np.testing.assert_allclose(whole.loss[i], alone.loss[0], atol=1e-14)


@pytest.mark.parametrize("solver, minimiser", [("bfgs", optx.BFGS), ("lbfgs", optx.LBFGS)])
def test_loop_runs_optimistix_own_solver_to_the_same_iterate(solver, minimiser):
    """The default is dense BFGS, and our step-by-step loop stops where ``optx.minimise`` does."""
    assert BFGSSettings().solver == "bfgs" and BFGSSettings().history_length == 10
    settings = BFGSSettings() if solver == "bfgs" else BFGSSettings(solver=solver)
    assert type(settings.make_solver()) is minimiser
    starts = jnp.array([[-1.2, 1.0, 0.5], [0.0, 0.0, 2.0], [2.0, 2.0, -1.0]])
    outcome = minimize_batch(rosenbrock, starts, jnp.zeros(3), settings)
    for i, start in enumerate(starts):
        solution = optx.minimise(
            rosenbrock, minimiser(rtol=settings.rtol, atol=settings.atol), start, max_steps=10_000
        )
        np.testing.assert_allclose(outcome.solution[i], solution.value, rtol=0, atol=1e-10)
        assert int(outcome.iterations[i]) == int(solution.state.num_accepted_steps) - 1


def test_lbfgs_state_for_an_image_holds_no_d_by_d_array():
    d, n = 4096, 4  # a 64 x 64 image
    shapes = {}
    for solver in ("lbfgs", "bfgs"):
        state = eqx.filter_eval_shape(
            lambda y: BFGSSettings(solver=solver).make_solver().init(
                lambda y, a: (jnp.sum(y**2), None), y, None, {},
                jax.ShapeDtypeStruct((), jnp.float64), None, frozenset(),
            ),
            jax.ShapeDtypeStruct((d,), jnp.float64),
        )
        leaves = [leaf for leaf in jax.tree.leaves(state) if isinstance(leaf, jax.ShapeDtypeStruct)]
        shapes[solver] = [leaf.shape for leaf in leaves]
    largest = max(int(np.prod(shape)) for shape in shapes["lbfgs"])
    assert largest < d * d and largest == 10 * d, shapes["lbfgs"]  # the (history, d) buffers
    assert (d, d) in shapes["bfgs"]  # what L-BFGS replaces

    def smooth(x, c):
        return jnp.sum((x - c) ** 2) + jnp.sum(jnp.diff(x) ** 2)

    y = jax.ShapeDtypeStruct((n, d), jnp.float64)
    compiled = (
        jax.jit(lambda y0, c: minimize_batch(smooth, y0, c, BFGSSettings(solver="lbfgs")))
        .lower(y, y)
        .compile()
    )
    memory = compiled.memory_analysis()
    if memory is not None:  # measured on CPU: 10 MB; dense BFGS 1075 MB (n d^2 = 537 MB, twice)
        print(f"L-BFGS n={n} d={d}: temp {memory.temp_size_in_bytes / 1e6:.1f} MB")
        assert memory.temp_size_in_bytes < d * d * 8  # all n together, below ONE dense matrix


@pytest.mark.parametrize("solver", ["bfgs", "lbfgs"])
def test_target_stops_each_example_once_its_loss_is_reached(solver):
    settings = BFGSSettings(solver=solver)
    starts = jnp.zeros((3, 20))
    initial = float(ill_conditioned_quadratic(starts[0], None))
    # example 0: a target above the minimum; 1: no reachable target (as without one);
    # 2: a target the start already meets (stops at iteration 0)
    target = jnp.array([1e-3 * initial, -jnp.inf, 2 * initial])
    run = jax.jit(lambda t: minimize_batch(ill_conditioned_quadratic, starts, jnp.zeros(3), settings, target=t))
    free = jax.jit(lambda: minimize_batch(ill_conditioned_quadratic, starts, jnp.zeros(3), settings))()
    stopped = run(target)
    assert [STATUS[int(s)] for s in stopped.status] == ["converged"] * 3
    assert float(stopped.loss[0]) <= float(target[0])
    assert 0 < int(stopped.iterations[0]) < int(free.iterations[0])
    last = int(stopped.iterations[0])
    assert float(stopped.history[0, last - 1]) > float(target[0])  # the first iterate below it
    np.testing.assert_array_equal(stopped.solution[1], free.solution[1])
    assert int(stopped.iterations[1]) == int(free.iterations[1])
    assert int(stopped.iterations[2]) == 0
    np.testing.assert_array_equal(stopped.solution[2], starts[2])


@pytest.mark.parametrize("parameterization", ["raw", "tanh", "projected"])
def test_bfgs_on_problems_takes_a_target(key, parameterization):
    from lio.methods.bfgs import bfgs_on_problems
    from lio.problems import WavePacket

    problem = WavePacket()
    problems = problem.sample(key, 3)
    start = problems.solution + 0.3  # near the truth: its basin, not the nearest wiggle
    settings = BFGSSettings(parameterization=parameterization)
    free, _ = bfgs_on_problems(problem, problems, start, settings)
    initial = problem.losses(start, problems)
    target = free.loss + 0.5 * (initial - free.loss)  # halfway down
    stopped, _ = bfgs_on_problems(problem, problems, start, settings, target=target)
    assert all(STATUS[int(s)] == "converged" for s in stopped.status)
    assert np.all(stopped.loss <= target)
    assert np.all(stopped.iterations < free.iterations)
    np.testing.assert_allclose(problem.losses(stopped.solution, problems), stopped.loss, rtol=1e-10)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"solver": "newton"}, r"bfgs.solver is 'newton'; expected one of \('bfgs', 'lbfgs'\)"),
        ({"history_length": 0}, r"bfgs.history_length is 0; expected an integer >= 1"),
        ({"history_length": 2.5}, r"bfgs.history_length is 2.5"),
        ({"solver": "lbfgs", "history_length": True}, r"bfgs.history_length is True"),
    ],
)
def test_bad_solver_settings_are_rejected_naming_the_setting(fields, message):
    with pytest.raises(ValueError, match=message):
        BFGSSettings(**fields)


def test_lbfgs_refuses_float32_unknowns_under_x64_with_the_fix():
    with pytest.raises(ValueError, match="LBFGS .* builds its history in JAX's default float"):
        minimize_batch(rosenbrock, jnp.zeros((1, 2), jnp.float32), jnp.zeros(1), BFGSSettings(solver="lbfgs"))


def real_config():
    return yaml.safe_load((ROOT / "config/config.yaml").read_text())


def test_an_experiment_bfgs_block_overrides_the_global_one_for_that_experiment():
    from lio.run import studies
    from lio.run.config import problems_in
    from lio.run.spec import bfgs_settings

    config = real_config()
    config["experiments"]["wavepacket"]["bfgs"] = {"solver": "lbfgs", "history_length": 5}
    chosen = bfgs_settings(config, "wavepacket")
    assert (chosen.solver, chosen.history_length) == ("lbfgs", 5)
    assert chosen.max_iterations == config["bfgs"]["max_iterations"]  # the rest stays global
    # the experiments without a bfgs block of their own (CT and MRI set lbfgs in config.yaml)
    others = [name for name, block in config["experiments"].items()
              if name != "wavepacket" and not block.get("bfgs")]
    assert others and all(bfgs_settings(config, name).solver == "lbfgs" for name in ("ct", "mri"))
    assert all(bfgs_settings(config, name).solver == "bfgs" for name in others)
    assert problems_in(config) == []
    # runs of the default solver record the settings as before the solver setting existed
    recorded = studies.bfgs_record(studies.bfgs_options(config, config["experiments"][others[0]]))
    assert "solver" not in recorded and "history_length" not in recorded
    recorded = studies.bfgs_record(studies.bfgs_options(config, config["experiments"]["wavepacket"]))
    assert (recorded["solver"], recorded["history_length"]) == ("lbfgs", 5)

    bad = copy.deepcopy(config)
    bad["experiments"]["wavepacket"]["bfgs"] = {"solver": "newton"}
    assert any(
        p.startswith("experiments.wavepacket.bfgs: bfgs.solver is 'newton'") for p in problems_in(bad)
    ), problems_in(bad)


def test_schema_accepts_the_solver_settings_globally_and_per_experiment():
    import jsonschema

    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    config = real_config()
    config["experiments"]["wavepacket"]["bfgs"] = {"solver": "lbfgs"}
    jsonschema.validate(config, schema)
    for path in (["bfgs"], ["experiments", "wavepacket", "bfgs"]):
        for key, value in (("solver", "newton"), ("history_length", 0), ("max_iteration", 5)):
            broken = copy.deepcopy(config)
            block = broken
            for name in path:
                block = block[name]
            block[key] = value
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate(broken, schema)
