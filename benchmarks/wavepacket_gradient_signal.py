"""Does the wave-packet loss tell a descent method which way the truth lies?

For random truths and noise (the config's prior and noise), the gradient of the loss is sampled
at offsets Δ = t0 − truth, and per band of |Δ| (one oscillation period, 2π, per band; the first is the
global minimum's basin, |Δ| < π) the script prints how often the descent direction points toward
the truth (0.5: a coin flip, no information about where the truth lies) and the mean gradient
magnitude. This is the information a reparameterized network could learn the packet's location
from.

    python benchmarks/wavepacket_gradient_signal.py [--widths 10 20 30] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
jax.config.update("jax_enable_x64", True)

from lio.problems import WavePacket  # noqa: E402


def bands(problem: WavePacket, truths: int, seed: int) -> list[dict[str, float]]:
    key_truth, key_noise = jax.random.split(jax.random.PRNGKey(seed))
    problems = problem.sample(key_truth, truths)
    offsets = np.linspace(-23 * np.pi, 23 * np.pi, 46 * 16 + 1)
    gradient = jax.jit(jax.vmap(jax.vmap(jax.grad(problem.loss), (0, None, None)), (0, 0, 0)))
    t0 = problems.solution[:, None, :] + offsets[None, :, None]
    inside = (t0[..., 0] >= problem.t0_low) & (t0[..., 0] <= problem.t0_high)
    g = np.asarray(gradient(t0, problems.condition, problems.observed))[..., 0]
    pull = -g * np.sign(-offsets)[None, :]  # descent (−g) projected on the direction to the truth
    rows = []
    for k in range(12):
        low, high = (2 * k - 1) * np.pi if k else 0.0, (2 * k + 1) * np.pi
        band = inside & (np.abs(offsets)[None, :] >= low) & (np.abs(offsets)[None, :] < high)
        band &= offsets[None, :] != 0
        rows.append(
            {
                "band_low": float(low),
                "band_high": float(high),
                "toward_truth": float(np.mean(pull[band] > 0)),
                "mean_abs_gradient": float(np.mean(np.abs(g[band]))),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=float, nargs="+", default=[10.0, 20.0, 30.0])
    parser.add_argument("--truths", type=int, default=256)
    parser.add_argument("--seed", type=int, default=2000)
    parser.add_argument("--out", default="benchmarks/results/wavepacket_gradient_signal.json")
    args = parser.parse_args()
    record = {}
    for width in args.widths:
        rows = bands(WavePacket(width=width), args.truths, args.seed)
        record[str(width)] = rows
        print(f"sigma = {width:g}: |t0 - truth| band: share of descent directions toward the truth, mean |dL/dt0|")
        for row in rows:
            print(
                f"  [{row['band_low']:6.1f}, {row['band_high']:6.1f}): {row['toward_truth']:.2f}  "
                f"{row['mean_abs_gradient']:.3g}"
            )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
