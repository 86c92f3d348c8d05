"""Does a reparameterizing U-Net train on CT? Own-estimate quality and health per learning rate.

On a calibration problem set (seed 1000, disjoint from the evaluation seeds), trains the
reparameterized U-Net of the quick config's size for ``--steps`` Adam steps at each rate and
prints the estimates' mean PSNR / SSIM, the pinned share and the spread (lio.analysis.health), beside the
prior mean's and the filtered back-projection's PSNR.

    python benchmarks/ct_training_health.py [--rates 1e-2 1e-3] [--steps 1000] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
jax.config.update("jax_enable_x64", True)

from lio.analysis import health  # noqa: E402
from lio.methods import BFGSSettings, make_method  # noqa: E402
from lio.problems import make_problem  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--angles", type=int, default=16)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--rates", type=float, nargs="+", default=[1e-2, 1e-3])
    parser.add_argument("--features", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--out", default="benchmarks/results/ct_training_health-cpu.json")
    args = parser.parse_args()
    problem = make_problem("ct", {"size": args.size, "num_angles": args.angles})
    problems = problem.sample(jax.random.PRNGKey(1000), args.n)
    truth = np.asarray(problems.solution)
    prior = problem.quality(np.broadcast_to(np.asarray(problem.prior_mean), truth.shape), truth)
    fbp = np.asarray(jax.vmap(problem.network_input)(problems.observed, problems.condition))
    given = problem.quality(np.clip(fbp.reshape(args.n, -1), 0, 1), truth)
    print(f"prior mean: PSNR {np.mean(prior['psnr']):.2f} dB; FBP: {np.mean(given['psnr']):.2f} dB")
    rows = []
    for rate in args.rates:
        method = make_method(
            "reparameterized",
            {"network": {"kind": "unet", "features": args.features},
             "training": {"steps": args.steps, "learning_rate": rate, "log_every": args.steps // 4}},
            BFGSSettings(),
        )
        start = time.perf_counter()
        estimate = method.solve(problem, problems, None, jax.random.PRNGKey(0))
        quality = problem.quality(estimate.solution, truth)
        _, summary = health.diagnose(problem, estimate.solution, truth)
        row = {"learning_rate": rate, "seconds": time.perf_counter() - start,
               "loss_per_problem": float(np.mean(estimate.loss)),
               "psnr": float(np.mean(quality["psnr"])), "ssim": float(np.mean(quality["ssim"])),
               "pinned": summary["pinned"], "spread": summary["spread"]}
        print(f"lr {rate:g}: L/n {row['loss_per_problem']:.4g}, PSNR {row['psnr']:.2f} dB, SSIM "
              f"{row['ssim']:.3f}, pinned {row['pinned']:.2f}, spread {row['spread']:.2f}, "
              f"{row['seconds']:.0f}s", flush=True)
        rows.append(row)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(
        {"settings": vars(args), "device": str(jax.devices()[0]),
         "prior_mean_psnr": float(np.mean(prior["psnr"])), "fbp_psnr": float(np.mean(given["psnr"])),
         "rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
