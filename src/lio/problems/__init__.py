"""Problem registry: one simulator per module, one line here per problem."""

from lio.problems.base import Problem, ProblemSet
from lio.problems.billiards import Billiards
from lio.problems.kuramoto_sivashinsky import KuramotoSivashinsky
from lio.problems.navier_stokes import NavierStokes
from lio.problems.oscillator import DampedOscillator
from lio.problems.wavepacket import WavePacket

PROBLEMS: dict[str, type[Problem]] = {
    "wavepacket": WavePacket,
    "oscillator": DampedOscillator,
    "billiards": Billiards,
    "kuramoto_sivashinsky": KuramotoSivashinsky,
    "navier_stokes": NavierStokes,
}


def make_problem(kind: str, params: dict | None = None) -> Problem:
    """Build a registered problem from its config block, with a clear error on bad input."""
    if kind not in PROBLEMS:
        raise ValueError(
            f"unknown problem {kind!r}; expected one of {sorted(PROBLEMS)}. "
            "Register new problems in lio/problems/__init__.py."
        )
    cls = PROBLEMS[kind]
    params = dict(params or {})
    allowed = set(cls.__dataclass_fields__)
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(
            f"problem {kind!r}: unknown parameter(s) {unknown}; expected a subset of "
            f"{sorted(allowed)}."
        )
    # YAML gives lists; static (hashed) problem fields need tuples.
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})


__all__ = ["PROBLEMS", "Billiards", "KuramotoSivashinsky", "NavierStokes", "Problem", "ProblemSet", "WavePacket", "make_problem"]
