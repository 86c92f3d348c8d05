"""FLOPs of a JAX computation counted on its jaxpr, loops multiplied by their trip counts.

XLA's ``compiled.cost_analysis()`` counts the body of a ``while`` (every ``lax.scan``) once,
whatever its trip count, so for time-stepping simulators it reports the cost of one step. Here
``scan`` bodies count ``length`` times. A ``while_loop`` has no static trip count: its body
counts once, and ``count_flops`` reports how many such loops it met.

Counted: matmuls (2 per multiply-add), convolutions (same), FFTs (5 N log2 N per complex
transform, half for real ones), reductions and element-wise arithmetic (1 per output element).
Not counted: pure data movement (reshapes, slices, gathers, concatenation, casts).
"""

from __future__ import annotations

import math

from jax.extend import core

# Primitives that move or reinterpret data without arithmetic.
MOVEMENT = {
    "broadcast_in_dim", "concatenate", "convert_element_type", "copy", "copy_p",
    "device_put", "dynamic_slice", "dynamic_update_slice", "expand_dims", "gather", "iota",
    "pad", "reshape", "rev", "slice", "squeeze", "stop_gradient", "transpose",
    "random_bits", "random_seed", "random_wrap", "random_unwrap", "threefry2x32",
    "sharding_constraint", "optimization_barrier", "split",
}  # fmt: skip


def _size(var) -> int:
    return math.prod(getattr(var.aval, "shape", ()))


def _subjaxprs(eqn):
    for value in eqn.params.values():
        if isinstance(value, core.ClosedJaxpr):
            yield value.jaxpr
        elif isinstance(value, core.Jaxpr):
            yield value
        elif isinstance(value, tuple) and value and isinstance(value[0], core.ClosedJaxpr):
            yield from (branch.jaxpr for branch in value)


def _eqn_flops(eqn, loops: list[str]) -> float:
    name = eqn.primitive.name
    if name == "scan":
        return eqn.params["length"] * _jaxpr_flops(eqn.params["jaxpr"].jaxpr, loops)
    if name == "while":
        loops.append("while")
        return sum(_jaxpr_flops(j, loops) for j in _subjaxprs(eqn))
    if name == "cond":
        return max(_jaxpr_flops(b.jaxpr, loops) for b in eqn.params["branches"])
    inner = list(_subjaxprs(eqn))
    if inner:  # pjit, remat, custom_jvp/vjp calls, closed_call: the first jaxpr is the call
        return _jaxpr_flops(inner[0], loops)
    if name == "dot_general":
        (contract, _), _ = eqn.params["dimension_numbers"]
        lhs = eqn.invars[0].aval.shape
        return 2.0 * _size(eqn.outvars[0]) * math.prod(lhs[d] for d in contract)
    if name == "conv_general_dilated":
        rhs = eqn.invars[1].aval.shape
        out_feature_dim = eqn.params["dimension_numbers"].rhs_spec[0]
        return 2.0 * _size(eqn.outvars[0]) * math.prod(rhs) / rhs[out_feature_dim]
    if name == "fft":
        length = math.prod(eqn.params["fft_lengths"])
        transforms = _size(eqn.invars[0]) / max(
            math.prod(eqn.invars[0].aval.shape[-len(eqn.params["fft_lengths"]) :]), 1
        )
        real = "R" in str(eqn.params["fft_type"])
        return transforms * 5.0 * length * math.log2(max(length, 2)) * (0.5 if real else 1.0)
    if name.startswith(("reduce_", "argmax", "argmin", "cum")):
        return float(sum(_size(v) for v in eqn.invars))
    if name in MOVEMENT:
        return 0.0
    return float(sum(_size(v) for v in eqn.outvars))


def _jaxpr_flops(jaxpr, loops: list[str]) -> float:
    return sum(_eqn_flops(eqn, loops) for eqn in jaxpr.eqns)


def count_flops(closed_jaxpr) -> tuple[float, int]:
    """(FLOPs, number of ``while_loop``s whose body was counted once) of ``jax.make_jaxpr(f)(...)``."""
    loops: list[str] = []
    return _jaxpr_flops(closed_jaxpr.jaxpr, loops), len(loops)
