"""Box-constrained quasi-Newton for ``BFGSSettings.parameterization: projected``.

optimistix's BFGS and L-BFGS, with their search, memory and stopping rule, along a projected
quasi-Newton descent that keeps every iterate inside the prior's box ``[lower, upper]``
(lio.methods.bfgs builds them; benchmarks/bfgs_vs_scipy.py compares them with scipy's L-BFGS-B).
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array


class _ProjectedDescentState(eqx.Module):
    y: Array
    direction: Array
    result: optx.RESULTS


class ProjectedNewtonDescent(optx.AbstractDescent):
    """The quasi-Newton direction restricted to the variables free to move, followed along
    the projection arc ``y(alpha) = clip(y - alpha * d, lower, upper)``.

    Variables that sit on a face of the box with the gradient pushing them out of it are held
    (the binding set of Bertsekas' projected Newton methods, 1982, and of Kim, Sra & Dhillon's
    projected quasi-Newton, 2010); the others move along ``d = P H P g``, ``P`` the free
    variables' mask and ``H`` the (L-)BFGS inverse Hessian. ``-g . d < 0`` whenever a free
    variable has a non-zero gradient, and projecting can only drop components that push out
    of the box, so optimistix's backtracking Armijo search on the arc finds a decrease. At a
    point where every free variable's gradient is zero (the box-constrained KKT point) the
    direction is zero and the Cauchy criterion stops the run.
    """

    lower: Array
    upper: Array

    def init(self, y: Array, f_info_struct) -> _ProjectedDescentState:
        del f_info_struct
        return _ProjectedDescentState(y, jnp.zeros_like(y), optx.RESULTS.successful)

    def query(self, y: Array, f_info, state: _ProjectedDescentState) -> _ProjectedDescentState:
        del state
        grad = f_info.grad
        held = ((y <= self.lower) & (grad > 0)) | ((y >= self.upper) & (grad < 0))
        free_grad = jnp.where(held, 0, grad)
        if isinstance(f_info, optx.FunctionInfo.EvalGradHessian):
            # Dense BFGS keeps the Hessian B: the free block's own Newton system,
            # B_FF d_F = g_F (held rows: the identity, right-hand side 0), as L-BFGS-B's
            # subspace step. (H_FF g_F, the inverse's block, ignores how the held variables
            # couple to the free ones: on a bounded Rosenbrock it crawled 1000 iterations.)
            hessian = f_info.hessian.as_matrix()
            both_free = ~held[:, None] & ~held[None, :]
            system = jnp.where(both_free, hessian, jnp.diag(held.astype(hessian.dtype)))
            direction = jnp.linalg.solve(system, free_grad)
        else:
            direction = f_info.hessian_inv.mv(free_grad)
        return _ProjectedDescentState(y, jnp.where(held, 0, direction), optx.RESULTS.successful)

    def step(self, step_size, state: _ProjectedDescentState) -> tuple[Array, optx.RESULTS]:
        trial = jnp.clip(state.y - step_size * state.direction, self.lower, self.upper)
        return trial - state.y, state.result


def _quiet(**_) -> None:
    """optimistix's ``verbose`` hook, silent."""


def _projected_step(solver, fn, y, args, options, state, tags):
    # y + (clip(...) - y) can miss a face by a rounding error: the next trial point is put on
    # the box exactly, so every point evaluated (and accepted) lies in it.
    y, state, aux = super(type(solver), solver).step(fn, y, args, options, state, tags)
    descent = solver.descent
    trial = jnp.clip(state.y_eval, descent.lower, descent.upper)
    return y, eqx.tree_at(lambda s: s.y_eval, state, trial), aux


class ProjectedBFGS(optx.AbstractBFGS):
    """``optimistix.BFGS`` (backtracking Armijo, Cauchy criterion on the max norm) along
    ``ProjectedNewtonDescent``: every iterate stays in ``[lower, upper]``. It keeps the dense
    Hessian, not its inverse (``use_inverse=False``), so that the direction can solve the
    free variables' own system; a d x d solve per step, cheap at the paper's few unknowns."""

    rtol: float
    atol: float
    descent: ProjectedNewtonDescent
    norm: Callable = optx.max_norm
    use_inverse: bool = False
    search: optx.BacktrackingArmijo = optx.BacktrackingArmijo()
    verbose: Callable = _quiet

    def step(self, fn, y, args, options, state, tags):
        return _projected_step(self, fn, y, args, options, state, tags)


class ProjectedLBFGS(optx.AbstractLBFGS):
    """``optimistix.LBFGS`` (the same search, memory and stopping rule) along
    ``ProjectedNewtonDescent``: every iterate stays in ``[lower, upper]``."""

    rtol: float
    atol: float
    descent: ProjectedNewtonDescent
    history_length: int = 10
    norm: Callable = optx.max_norm
    use_inverse: bool = True
    search: optx.BacktrackingArmijo = optx.BacktrackingArmijo()
    verbose: Callable = _quiet

    def step(self, fn, y, args, options, state, tags):
        return _projected_step(self, fn, y, args, options, state, tags)
