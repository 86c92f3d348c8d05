"""Forward and gradient cost of the 2D acoustic wave solver, and what checkpointing saves.

    python benchmarks/acoustic_cost.py [--sizes 32 64] [--n 64] [--repeats 3] [--threads 1]
        [--dtype float64] [--out FILE]

For each interior size (spacing 1.6 km / size: 0.05 km at 32, 0.025 km at 64; sponge 20 cells;
4 sources and 16 receivers on a row 0.1 km deep; a 5 Hz Ricker; a 2 s record at 0.8 of the CFL
limit for 4.5 km/s), times the jitted forward model and the gradient of the squared misfit
``0.5 |d(v) - d_obs|^2`` for one velocity model and for a vmapped batch of ``--n`` models
(median of ``--repeats`` calls after one warm-up, results waited for), and reports the compiled
gradient's temporary memory (XLA's memory analysis) with checkpointing (segments of
``ceil(sqrt(num_steps))`` steps) and without (one segment: every step's wavefield kept). The
uncheckpointed batch gradient is only compiled, not run (it needs tens of GiB at 64 x 64).
"""

from __future__ import annotations

import argparse
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
parser.add_argument("--n", type=int, default=64, help="velocity models in the vmapped batch")
parser.add_argument("--repeats", type=int, default=3)
parser.add_argument("--threads", type=int, default=1, help="XLA CPU threads: 1 as in jobs, 0 all")
parser.add_argument("--dtype", choices=["float32", "float64"], default="float64")
parser.add_argument("--out", default=None)
args = parser.parse_args()
from lio.run.jobenv import limit_xla_cpu_threads  # noqa: E402  (imports no jax)

limit_xla_cpu_threads(args.threads)  # before jax is imported

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from common import median_time, write  # noqa: E402

from lio.problems.imaging.acoustic import (  # noqa: E402
    AcousticWave, ricker, stable_time_step,
)
from lio.analysis.provenance import device, provenance  # noqa: E402

MAX_VELOCITY, PEAK_FREQUENCY, DURATION, WIDTH_KM = 4.5, 5.0, 2.0, 1.6


def models(key, count: int, size: int, spacing: float, dtype) -> jax.Array:
    """Velocity increasing from 1.5 to 3.5 km/s with depth plus a random Gaussian anomaly
    (+-0.8 km/s, 0.2 km wide) each: inside [1.5, 4.5] km/s."""
    depth = (jnp.arange(size) + 0.5)[:, None] / size
    z, x = jnp.meshgrid(jnp.arange(size) * spacing, jnp.arange(size) * spacing, indexing="ij")
    centre_key, amplitude_key = jax.random.split(key)
    centres = jax.random.uniform(centre_key, (count, 2), minval=0.3, maxval=WIDTH_KM - 0.3)
    amplitudes = jax.random.uniform(amplitude_key, (count,), minval=-0.8, maxval=0.8)
    distance2 = (z - centres[:, 0, None, None]) ** 2 + (x - centres[:, 1, None, None]) ** 2
    anomaly = amplitudes[:, None, None] * jnp.exp(-distance2 / (2 * 0.2**2))
    velocity = 1.5 + 2.0 * depth + anomaly
    return jnp.clip(velocity, 1.5, MAX_VELOCITY).astype(dtype)


def wave_for(size: int, checkpoint_every=None) -> AcousticWave:
    spacing = WIDTH_KM / size
    dt = stable_time_step(MAX_VELOCITY, spacing)
    num_steps = int(round(DURATION / dt))
    row = int(round(0.1 / spacing))
    sources = tuple((row, int(ix)) for ix in np.linspace(0, size - 1, 6)[1:-1].round())
    receivers = tuple((row, int(ix)) for ix in np.linspace(0, size - 1, 16).round())
    return AcousticWave.create((size, size), spacing, dt, num_steps, sources, receivers,
                               ricker(num_steps, dt, PEAK_FREQUENCY), MAX_VELOCITY,
                               sponge_width=20, checkpoint_every=checkpoint_every)


def loss(velocity, wave, observed):
    return 0.5 * jnp.sum((wave(velocity) - observed) ** 2)


forward_one = jax.jit(lambda wave, v: wave(v))
forward_batch = jax.jit(lambda wave, v: jax.vmap(wave)(v))
gradient_one = jax.jit(jax.grad(loss))
gradient_batch = jax.jit(jax.vmap(jax.grad(loss), in_axes=(0, None, 0)))


def timed(function, repeats: int) -> float:
    """Median seconds of ``function()`` after one warm-up call (the compilation)."""
    jax.block_until_ready(function())
    return median_time(function, repeats)


def temp_mib(function, *arguments) -> float:
    analysis = function.lower(*arguments).compile().memory_analysis()
    return analysis.temp_size_in_bytes / 2**20 if analysis is not None else float("nan")


def measure(size: int, n: int, repeats: int, dtype) -> dict:
    wave = wave_for(size)
    whole = wave_for(size, checkpoint_every=wave.num_steps)
    velocity = models(jax.random.PRNGKey(size), n, size, wave.spacing, dtype)
    truth = models(jax.random.PRNGKey(size + 1), n, size, wave.spacing, dtype)
    observed = forward_batch(wave, truth)
    one, observed_one = velocity[0], observed[0]
    field_mib = np.prod(wave.padded_shape) * jnp.dtype(dtype).itemsize / 2**20
    row = {
        "size": size,
        "spacing_km": wave.spacing,
        "padded_shape": list(wave.padded_shape),
        "dt_s": wave.dt,
        "num_steps": wave.num_steps,
        "num_sources": wave.num_sources,
        "num_receivers": wave.num_receivers,
        "checkpoint_every": wave.checkpoint_every,
        "n": n,
        "wavefield_mib": field_mib,
        "forward_one_s": timed(lambda: forward_one(wave, one), repeats),
        "gradient_one_s": timed(lambda: gradient_one(one, wave, observed_one), repeats),
        "forward_batch_s": timed(lambda: forward_batch(wave, velocity), repeats),
        "gradient_batch_s": timed(lambda: gradient_batch(velocity, wave, observed),
                                        repeats),
        "gradient_one_temp_mib": temp_mib(gradient_one, one, wave, observed_one),
        "gradient_one_temp_mib_no_checkpoint": temp_mib(gradient_one, one, whole, observed_one),
        "gradient_batch_temp_mib": temp_mib(gradient_batch, velocity, wave, observed),
        "gradient_batch_temp_mib_no_checkpoint": temp_mib(gradient_batch, velocity, whole,
                                                          observed),
    }
    # cell updates per second of the batch forward (models x shots x steps x padded cells)
    updates = n * wave.num_sources * wave.num_steps * np.prod(wave.padded_shape)
    row["forward_batch_mcells_per_s"] = updates / row["forward_batch_s"] / 1e6
    print(
        f"acoustic {size}x{size} (padded {wave.padded_shape[0]}), {wave.num_steps} steps, "
        f"k={wave.checkpoint_every}: one model forward {1e3 * row['forward_one_s']:.1f} ms, "
        f"gradient {1e3 * row['gradient_one_s']:.1f} ms; {n} models forward "
        f"{row['forward_batch_s']:.2f} s, gradient {row['gradient_batch_s']:.2f} s "
        f"({row['forward_batch_mcells_per_s']:.0f} M cell updates/s forward); gradient temp "
        f"one {row['gradient_one_temp_mib']:.1f} MiB (no checkpoint "
        f"{row['gradient_one_temp_mib_no_checkpoint']:.1f}), batch "
        f"{row['gradient_batch_temp_mib']:.0f} MiB (no checkpoint "
        f"{row['gradient_batch_temp_mib_no_checkpoint']:.0f}); one wavefield "
        f"{field_mib:.3f} MiB",
        flush=True,
    )
    return row


def main() -> None:
    start = time.perf_counter()
    if args.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    dtype = jnp.dtype(args.dtype)
    rows = [measure(size, args.n, args.repeats, dtype) for size in args.sizes]
    numbers = {"device": device(), "threads": args.threads, "dtype": args.dtype,
               "repeats": args.repeats, "rows": rows,
               "wall_s": time.perf_counter() - start,
               "provenance": provenance({"argv": vars(args)})}
    print(f"whole benchmark {numbers['wall_s']:.1f} s")
    write(numbers, "acoustic_cost", args.out)


if __name__ == "__main__":
    main()
