"""Problem registry: one simulator per module, one line here per problem."""

from lio.problems.base import Problem, ProblemSet
from lio.problems.paper.billiards import Billiards
from lio.problems.paper.kuramoto_sivashinsky import KuramotoSivashinsky
from lio.problems.paper.navier_stokes import NavierStokes
from lio.problems.examples.oscillator import DampedOscillator
from lio.problems.imaging.ct import SparseViewCT
from lio.problems.imaging.fwi import SeismicFWI
from lio.problems.imaging.mri import UndersampledMRI
from lio.problems.schema import as_field_values, parameter_errors, params_schema
from lio.problems.paper.wavepacket import WavePacket

PROBLEMS: dict[str, type[Problem]] = {
    "wavepacket": WavePacket,
    "oscillator": DampedOscillator,
    "billiards": Billiards,
    "kuramoto_sivashinsky": KuramotoSivashinsky,
    "navier_stokes": NavierStokes,
    "ct": SparseViewCT,
    "mri": UndersampledMRI,
    "fwi": SeismicFWI,
}


def make_problem(kind: str, params: dict | None = None) -> Problem:
    """Build a registered problem from its config block, with a clear error on bad input.

    ``params`` is checked against the JSON schema derived from the problem's dataclass fields
    (``lio.problems.schema``: names, types, list lengths), then the problem's own
    ``__post_init__`` checks the value ranges.

    Raises:
        ValueError: an unknown problem, or params that do not fit; the message names the key.
    """
    if kind not in PROBLEMS:
        raise ValueError(
            f"unknown problem {kind!r}; expected one of {sorted(PROBLEMS)}. "
            "Register new problems in lio/problems/__init__.py."
        )
    cls = PROBLEMS[kind]
    params = dict(params or {})
    errors = parameter_errors(cls, params)
    if errors:
        raise ValueError(
            f"problem {kind!r}: "
            + "; ".join(f"{key}: {message}" if key else message for key, message in errors)
        )
    return cls(**as_field_values(params))


__all__ = ["PROBLEMS", "Billiards", "KuramotoSivashinsky", "NavierStokes", "Problem", "ProblemSet", "SeismicFWI", "SparseViewCT", "UndersampledMRI", "WavePacket", "make_problem", "params_schema"]
