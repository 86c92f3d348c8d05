"""Training health of a run: are its estimates spread like the truths, inside the box, near them?

A learned run whose estimates sit on the parameter box's edge (the scaled tanh saturated, so its
gradient is ~0 and the estimates never move again) or have collapsed onto one output did not
train: its better/equal fractions measure a pathology, not the method. Every run reports these
numbers (``lio.run.experiment.solve`` writes them to the run file and warns in the job log), and the
tables carry them next to better/equal (``lio.analysis.metrics.fractions``).

Per example, with ``u = 2 (xi - lower) / (upper - lower) - 1`` the position in the box (-1 and 1
are its edges):

- ``pinned``: some parameter within ``EDGE_MARGIN`` of the box's edge, ``1 - |u| <= 2e-3``,
  where the tanh's derivative ``1 - u^2`` is below ~4e-3 of its maximum, while the truth's is
  not there (an image's background pixels are 0, the box's lower edge, in truth as well); for
  image-sized unknowns (``IMAGE_SIZED`` parameters or more), more than ``PINNED_PARAMETERS`` of
  the parameters, counting only pixels further than ``PINNED_PIXEL_ERROR`` of the box from the
  truth (a few saturated pixels do not stop an image from training, and a pixel stuck at 0 where
  the truth is 0.02 is right; one saturated parameter of four stops a vector);
- ``outside``: some parameter beyond the box by more than ``OUTSIDE_MARGIN`` (possible for the
  unconstrained searches only: BFGS on raw parameters, the neural adjoint's BFGS, refinement);
- ``error``: ``max_k |xi_k - truth_k| / (upper_k - lower_k)``, the distance to the hidden truth
  in units of the prior box;
- ``in_basin``: the problem's own test (``Problem.in_basin``) that the estimate lies in the
  truth's basin of attraction.

Per run (one problem set): the fractions pinned / outside / in the basin, the median error, and
``spread``: the estimates' standard deviation across the problems over the truths', averaged over
the parameters (~1 when the estimates vary like the truths, ~0 after a collapse onto one output).
A run is *degenerate* when more than ``DEGENERATE_PINNED`` of it is pinned, more than
``DEGENERATE_OUTSIDE`` of it lies outside the prior's box, or its spread is below
``DEGENERATE_SPREAD``. Outside the box a loss can be won by an estimate no problem of the prior
has: a wave packet moved out of the observed window predicts a flat signal, whose loss (the
observation's energy) beats every wrong local fit inside it.

Where a method reports where its search started (``Estimate.initial``: BFGS's start, a network's
outputs at initialisation), ``progress`` says whether the search moved the estimates toward the
truth: the median ``error`` at the start (``error_initial``) and the share of problems whose
estimate ended strictly nearer the truth than it started (``closer``). A loss can fall while the
estimates move away from the truth (a multimodal loss: the wave packet's reparameterized
estimates at larger rates, ``benchmarks/wavepacket_training_dynamics.py``); ``closer`` shows it.
"""

from __future__ import annotations

import numpy as np

EDGE_MARGIN = 2e-3  # of the half-width of the box: tanh'(z) = 1 - u^2 < 4e-3 there
IMAGE_SIZED = 100  # parameters from which an estimate is judged as an image
PINNED_PARAMETERS = 0.01  # share of an image's pixels; below IMAGE_SIZED parameters: any one
PINNED_PIXEL_ERROR = 0.1  # of the box's width: a saturated pixel this far from the truth is wrong
DEGENERATE_PINNED = 0.10  # issue #17: no learned run may have more than 10 % pinned
DEGENERATE_SPREAD = 0.10  # estimates varying less than a tenth as much as the truths
OUTSIDE_MARGIN = 1e-6  # of the half-width: a bound rounded to float32 (0.3 -> 0.30000001) is inside
DEGENERATE_OUTSIDE = 0.10  # as for pinning: no run may have more than 10 % outside the prior box
RUN_METRICS = ("pinned", "outside", "spread", "error", "in_basin")
PROGRESS_METRICS = ("error_initial", "closer")


def per_example(
    solution: np.ndarray, truth: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> dict[str, np.ndarray]:
    """``pinned``, ``outside`` (bool) and ``error`` (float) of each ``(n, d)`` estimate."""
    solution, truth = np.asarray(solution, float), np.asarray(truth, float)
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    if solution.shape != truth.shape or solution.shape[-1:] != lower.shape:
        raise ValueError(
            f"health: solution {solution.shape}, truth {truth.shape} and bounds {lower.shape} "
            "do not fit; expected (n, d), (n, d) and (d,)."
        )
    width = upper - lower
    position = 2 * (solution - lower) / width - 1
    with np.errstate(invalid="ignore"):
        outside = np.any(np.abs(position) > 1 + OUTSIDE_MARGIN, axis=-1)
        truth_position = np.abs(2 * (truth - lower) / width - 1)
        at_edge = (np.abs(position) >= 1 - EDGE_MARGIN) & (np.abs(position) <= 1)
        saturated = at_edge & (truth_position < 1 - EDGE_MARGIN)
        if width.size >= IMAGE_SIZED:
            wrong = np.abs(solution - truth) > PINNED_PIXEL_ERROR * width
            pinned = np.mean(saturated & wrong, axis=-1) > PINNED_PARAMETERS
        else:
            pinned = np.any(saturated, axis=-1)
        error = np.max(np.abs(solution - truth) / width, axis=-1)
    return {"pinned": pinned, "outside": outside, "error": error}


def spread(solution: np.ndarray, truth: np.ndarray) -> float:
    """Estimates' std across problems over the truths', averaged over the parameters."""
    truth_std = np.std(np.asarray(truth, float), axis=0)
    estimate_std = np.std(np.asarray(solution, float), axis=0)
    varying = truth_std > 0
    if not np.any(varying) or len(truth) < 2:
        return float("nan")
    return float(np.mean(estimate_std[varying] / truth_std[varying]))


def run_summary(
    solution: np.ndarray,
    truth: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    in_basin: np.ndarray,
) -> dict[str, float]:
    """The per-run numbers of RUN_METRICS (fractions, spread, median error) of one problem set."""
    examples = per_example(solution, truth, lower, upper)
    return {
        "pinned": float(np.mean(examples["pinned"])),
        "outside": float(np.mean(examples["outside"])),
        "spread": spread(solution, truth),
        "error": float(np.nanmedian(examples["error"])),
        "in_basin": float(np.mean(in_basin)),
    }


def progress(
    initial: np.ndarray,
    solution: np.ndarray,
    truth: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> dict[str, float]:
    """``error_initial`` (median ``error`` where the search started) and ``closer`` (share of
    problems whose estimate ended strictly nearer the truth than its start) of one problem set."""
    start = per_example(initial, truth, lower, upper)["error"]
    end = per_example(solution, truth, lower, upper)["error"]
    return {"error_initial": float(np.nanmedian(start)), "closer": float(np.mean(end < start))}


def is_degenerate(summary: dict[str, float]) -> bool:
    """More than DEGENERATE_PINNED pinned, more than DEGENERATE_OUTSIDE outside the box, or a
    spread below DEGENERATE_SPREAD."""
    return bool(
        summary["pinned"] > DEGENERATE_PINNED
        or summary.get("outside", 0.0) > DEGENERATE_OUTSIDE
        or (np.isfinite(summary["spread"]) and summary["spread"] < DEGENERATE_SPREAD)
    )


def is_stuck(summary: dict[str, float]) -> bool:
    """A baseline's collapse: its estimates spread less than DEGENERATE_SPREAD of the truths',
    i.e. they stayed near the one start they share (BFGS from the prior mean)."""
    return bool(np.isfinite(summary["spread"]) and summary["spread"] < DEGENERATE_SPREAD)


def left_box(summary: dict[str, float]) -> bool:
    """More than DEGENERATE_OUTSIDE of the estimates lie outside the prior's box."""
    return bool(summary.get("outside", 0.0) > DEGENERATE_OUTSIDE)


def warnings(summary: dict[str, float], label: str) -> list[str]:
    """Job-log lines for a degenerate run (empty when healthy)."""
    lines = []
    if summary["pinned"] > DEGENERATE_PINNED:
        lines.append(
            f"[{label}] WARNING: {100 * summary['pinned']:.0f}% of the estimates are pinned to "
            "the parameter box's edge (tanh saturated, gradient ~0): training did not converge "
            "stably; lower the Adam learning rate (the paper's tuning policy, `snakemake "
            "calibrate`)."
        )
    if summary.get("outside", 0.0) > DEGENERATE_OUTSIDE:
        lines.append(
            f"[{label}] WARNING: {100 * summary['outside']:.0f}% of the estimates lie outside the "
            "prior's box: the loss may be won by an estimate no problem of the prior has; the "
            "run is degenerate (confine the search to the box, or check the box)."
        )
    if np.isfinite(summary["spread"]) and summary["spread"] < DEGENERATE_SPREAD:
        lines.append(
            f"[{label}] WARNING: the estimates collapsed onto one output (spread "
            f"{summary['spread']:.3f} of the truths'); the run is degenerate."
        )
    return lines


def diagnose(problem, solution: np.ndarray, truth: np.ndarray) -> tuple[dict, dict[str, float]]:
    """Per-example arrays (``pinned``, ``outside``, ``error``, ``in_basin``) and the run
    summary of one problem set's estimates, with the problem's box and basin test."""
    lower, upper = (np.asarray(b, float) for b in problem.bounds)
    examples = per_example(solution, truth, lower, upper)
    examples["in_basin"] = np.asarray(problem.in_basin(solution, truth), bool)
    return examples, run_summary(solution, truth, lower, upper, examples["in_basin"])
