"""Where the fluid's gradient time goes: advection, diffusion and pressure projection apart.

    python benchmarks/navier_stokes_parts.py [--configfile ...] [--n 128] [--threads 1]
        [--out FILE]

Times ``value_and_grad`` of a vmapped rollout (the configured number of steps, float32 as in
network training) that runs every part of a time step, and rollouts that run one part alone,
from the configured problem's random initial flows. ``all`` is the solver's own rollout (its
initial projection included). On one XLA thread by default, as workflow jobs run. Parts
interact (advection moves projected fields), so their times need not add up.
"""

from __future__ import annotations

import argparse

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--configfile", nargs="*", default=[])
parser.add_argument("--n", type=int, default=128)
parser.add_argument("--repeats", type=int, default=3)
parser.add_argument("--threads", type=int, default=1, help="XLA CPU threads: 1 as in jobs, 0 all")
parser.add_argument("--out", default=None)
args = parser.parse_args()
from lio.run.jobenv import limit_xla_cpu_threads  # noqa: E402  (imports no jax)

limit_xla_cpu_threads(args.threads)  # before jax is imported

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from common import load_config, median_time, write  # noqa: E402

from lio.run.experiment import enable_float64  # noqa: E402
from lio.run.spec import problem_of  # noqa: E402
from lio.analysis.provenance import device, provenance  # noqa: E402

PARTS = ("all", "advect", "diffuse", "project")


def rollout_gradient(problem, part: str):
    grid, solver = problem.grid, problem.solver

    def step(state, _):
        u, v, pressure = state
        if part in ("all", "advect"):
            u, v = grid.advect(u, v, solver.dt, solver.advection)
        if part in ("all", "diffuse"):
            du, dv = grid.laplacian(u, v)
            u, v = u + solver.dt * solver.viscosity * du, v + solver.dt * solver.viscosity * dv
        if part in ("all", "project"):
            u, v, pressure = solver.project(u, v, pressure)
        return (u, v, pressure), None

    def energy(u, v):
        if part == "all":  # the solver's own rollout (its loop is rotated, FlowSolver.rollout)
            u, v = solver.rollout(u, v, problem.num_steps)
            return jnp.sum(u**2 + v**2)
        (u, v, _), _ = jax.lax.scan(step, (u, v, jnp.zeros_like(u)), None, problem.num_steps)
        return jnp.sum(u**2 + v**2)

    return jax.jit(jax.value_and_grad(lambda u, v: jnp.sum(jax.vmap(energy)(u, v))))


def main() -> None:
    enable_float64()
    config = load_config(args.configfile)
    problem = problem_of(config, "navier_stokes")
    _, u0, v0 = problem._draw(jax.random.PRNGKey(0), args.n)
    u0, v0 = u0.astype(jnp.float32), v0.astype(jnp.float32)
    numbers = {"device": device(), "n": args.n, "steps": problem.num_steps, "seconds": {}}
    for part in PARTS:
        gradient = rollout_gradient(problem, part)
        jax.block_until_ready(gradient(u0, v0))
        numbers["seconds"][part] = median_time(lambda g=gradient: g(u0, v0), args.repeats)
        print(f"{part:8s} {numbers['seconds'][part] * 1e3:8.1f} ms", flush=True)
    numbers["provenance"] = provenance({"configfiles": args.configfile})
    write(numbers, "navier_stokes_parts", args.out)


if __name__ == "__main__":
    main()
