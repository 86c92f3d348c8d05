"""The one bootstrap of lio: a stratified percentile bootstrap of a mean over strata.

Table 2's fractions (``lio.analysis.metrics.fractions``: strata are the (n, seed) groups of
runs) and the observation axis's means (``lio.run.observations``: one stratum of all problems)
both use it. Within each stratum the examples are resampled with replacement ``resamples``
times, the same resample for every array of the stratum (so the arrays stay paired); each
resample's statistic is the mean over strata of the arrays' means; the interval holds the
central ``confidence`` of those, linearly interpolated (``numpy.quantile``).

``scipy.stats.bootstrap`` resamples its samples in the same way, but it cannot serve the
strata with Table 2's numbers: it refuses a stratum of one example (groups of n = 1) and
draws one resample per call rather than one per stratum shared by all its arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def stratified_bootstrap(
    strata: Sequence[tuple[int, Mapping[str, np.ndarray]]],
    resamples: int,
    confidence: float,
    rng: np.random.Generator,
) -> dict[str, tuple[float, float, float]]:
    """Per array name: the mean over strata of the arrays' means, and its percentile interval.

    Args:
        strata: per stratum, its number of examples and its arrays (over those examples) by
            name. A name's statistic is taken over the strata that hold it.
        resamples: resamples per stratum.
        confidence: the interval's coverage (0.95: the 2.5 % and 97.5 % quantiles).
        rng: draws one ``(resamples, size)`` array of indices per stratum, in order, also for
            a stratum without arrays (a caller's numbers depend on the draws before them).

    Returns:
        name -> (mean, low, high).
    """
    points: dict[str, list[float]] = {}
    boots: dict[str, list[np.ndarray]] = {}
    for size, arrays in strata:
        picks = rng.integers(0, int(size), size=(resamples, int(size)))
        for name, values in arrays.items():
            values = np.asarray(values)
            points.setdefault(name, []).append(float(values.mean()))
            boots.setdefault(name, []).append(values[picks].mean(axis=1))
    alpha = (1 - confidence) / 2
    intervals = {}
    for name in points:
        means = np.mean(boots[name], axis=0)
        intervals[name] = (
            float(np.mean(points[name])),
            float(np.quantile(means, alpha)),
            float(np.quantile(means, 1 - alpha)),
        )
    return intervals


def mean_interval(
    values: np.ndarray, confidence: float, resamples: int, seed: int
) -> tuple[float, float, float]:
    """Mean of ``values`` (non-finite ones dropped) and its percentile bootstrap interval: the
    bootstrap above with one stratum. No values give NaNs; one value, or all equal, give a
    point interval."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.nan, np.nan, np.nan
    if values.size == 1 or np.all(values == values[0]):
        return float(values.mean()), float(values.mean()), float(values.mean())
    return stratified_bootstrap(
        [(values.size, {"mean": values})], resamples, confidence, np.random.default_rng(seed)
    )["mean"]
