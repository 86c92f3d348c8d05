"""``MinimizeResult``: what ``lio.minimize`` returns, and its comparison with plain BFGS."""

from __future__ import annotations

import dataclasses

import numpy as np

from lio.analysis import metrics

# "Better than BFGS" uses the workflow's tolerances (config/config.yaml, comparison).
COMPARISON_RTOL, COMPARISON_ATOL = 1e-6, 1e-12


@dataclasses.dataclass(frozen=True)
class MinimizeResult:
    """What ``lio.minimize`` returns (host numpy arrays, one row per problem).

    Attributes:
        x: ``(n, d)`` solutions, BFGS-refined when ``refine=True``.
        fun: ``(n,)`` loss ``||F(x_i) - y_i||^2`` at ``x``.
        status: ``(n,)`` strings: ``converged`` / ``max_steps`` / ``diverged`` / ``failed``
            (BFGS), or ``completed`` (a network trained for its steps, unrefined); or, in
            place of those, ``zero_gradient`` (the loss gradient was exactly zero, at a non-zero
            loss, where the stage started: x0 for ``method="bfgs"``, the network's estimate for
            the network and its refinement; the stage could not move, e.g. an ``F`` made
            piecewise constant by ``round``) or ``nonfinite_gradient`` (NaN or inf there).
        nit: ``(n,)`` BFGS iterations of the last stage, or training steps of a network.
        x_unrefined, fun_unrefined, status_unrefined: the method's own estimate before
            refinement (equal to ``x``, ``fun``, ``status`` when nothing was refined).
        history: mean loss L/n along the method's optimisation (``steps + 1`` values for the
            network methods, one per BFGS iteration for ``bfgs``).
        refine_history: L/n along the refinement (empty when not refined).
        wall_time: seconds spent in the method and its refinement, compilation included.
        method: the method that ran.
        in_bounds: ``(n,)`` True where ``x`` lies in ``bounds`` (all True without bounds):
            BFGS is unconstrained, so ``method="bfgs"`` and refinement may leave the box.
        bfgs_x, bfgs_fun: ``(n, d)`` / ``(n,)`` plain BFGS from ``x0`` on every problem, when
            ``compare_bfgs=True``; else None.
        bfgs_wall_time: seconds of that comparison run (None without it).
    """

    x: np.ndarray
    fun: np.ndarray
    status: np.ndarray
    nit: np.ndarray
    x_unrefined: np.ndarray
    fun_unrefined: np.ndarray
    status_unrefined: np.ndarray
    history: np.ndarray
    refine_history: np.ndarray
    wall_time: float
    method: str
    in_bounds: np.ndarray
    bfgs_x: np.ndarray | None = None
    bfgs_fun: np.ndarray | None = None
    bfgs_wall_time: float | None = None

    @property
    def success(self) -> np.ndarray:
        """``(n,)`` True where BFGS converged or a network completed its training."""
        return np.isin(self.status, ("converged", "completed"))

    def _against_bfgs(self) -> tuple[np.ndarray, np.ndarray]:
        if self.bfgs_fun is None:
            raise ValueError(
                "no BFGS comparison in this result; call lio.minimize(..., compare_bfgs=True)."
            )
        return metrics.compare(self.fun, self.bfgs_fun, COMPARISON_RTOL, COMPARISON_ATOL)

    @property
    def n_better_than_bfgs(self) -> int:
        """Problems where ``fun`` is lower than plain BFGS's loss beyond the workflow's
        tolerance (``|L - L_BFGS| > 1e-12 + 1e-6 max(|L|, |L_BFGS|)``)."""
        return int(self._against_bfgs()[0].sum())

    @property
    def n_equal_to_bfgs(self) -> int:
        """Problems where ``fun`` equals plain BFGS's loss within the same tolerance."""
        return int(self._against_bfgs()[1].sum())
