"""LaTeX text: escaping config comments and names, macro names, number formats."""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from lio.methods import LABELS

METHOD_LABELS = LABELS  # the registry's (lio.methods.LABELS)
_DIGITS = ("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")
_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}
_UNICODE = {
    "±": r"$\pm$",
    "×": r"$\times$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "≈": r"$\approx$",
    "≠": r"$\neq$",
    "→": r"$\to$",
    "∇": r"$\nabla$",
    "∂": r"$\partial$",
    "∈": r"$\in$",
    "∼": r"$\sim$",
    "∞": r"$\infty$",
    "·": r"$\cdot$",
    "−": r"$-$",
    "²": r"$^2$",
    "³": r"$^3$",
    "°": r"$^\circ$",
    "–": "--",
    "—": "---",
    "…": r"\ldots{}",
    "’": "'",
    "‘": "`",
    "“": "``",
    "”": "''",
}
# Greek capitals without a LaTeX command look like Latin ones.
_GREEK_CAPITALS = {"ALPHA": "A", "BETA": "B", "EPSILON": "E", "ZETA": "Z", "ETA": "H", "IOTA": "I"}
_GREEK_CAPITALS |= {
    "KAPPA": "K",
    "MU": "M",
    "NU": "N",
    "OMICRON": "O",
    "RHO": "P",
    "TAU": "T",
    "CHI": "X",
}


def macro(*parts: str) -> str:
    r"""A LaTeX command name: ('wavepacket', 'neural_adjoint') -> \lioWavepacketNeuralAdjoint.

    Commands hold letters only, so digits become words (n2 -> NTwo) and underscores go.
    """
    words = []
    for part in parts:
        for piece in re.findall(r"[A-Za-z]+|\d", str(part)):
            words.append(_DIGITS[int(piece)] if piece.isdigit() else piece[0].upper() + piece[1:])
    return "\\lio" + "".join(words)


def _unicode_to_latex(char: str) -> str:
    if char in _UNICODE:
        return _UNICODE[char]
    name = unicodedata.name(char, "")
    greek = re.fullmatch(r"GREEK (SMALL|CAPITAL) LETTER (.+)", name)
    if greek:
        letter = {"LAMDA": "LAMBDA", "FINAL SIGMA": "VARSIGMA"}.get(greek[2], greek[2])
        if greek[1] == "CAPITAL":
            return _GREEK_CAPITALS.get(letter, f"$\\{letter.capitalize()}$")
        return "o" if letter == "OMICRON" else f"$\\{letter.lower()}$"
    if name.startswith("LATIN"):
        return char  # accented Latin letters: pdflatex's utf8 input handles them
    return f"[{name.lower() or hex(ord(char))}]"


def latex_escape(text: str) -> str:
    """Plain text (config comments, device names) as LaTeX: specials escaped, Unicode mapped."""
    text = str(text).replace("->", "→").replace(">=", "≥").replace("<=", "≤")
    return "".join(_SPECIAL.get(c, c) if ord(c) < 128 else _unicode_to_latex(c) for c in text)


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method.replace("_", " ").capitalize())


def share_interval(share: float, low: float, high: float) -> str:
    """A share with its interval, in percent (LaTeX): ``12.3\\,\\% [10.1, 14.5]``."""
    return f"{percent(share)}\\,\\% [{percent(low)}, {percent(high)}]"


def percent(value: float) -> str:
    return "--" if value is None or not np.isfinite(value) else f"{100 * value:.1f}"


def power_of_ten(value: float) -> str:
    """A number for LaTeX math: an exact power of ten as 10^{k}, any other as %g."""
    exponent = np.log10(value) if value > 0 else np.nan
    if np.isfinite(exponent) and float(exponent).is_integer():
        return f"10^{{{int(exponent)}}}"
    return f"{value:g}"


def group_row(experiment: str, columns: int) -> str:
    """A table row naming ``experiment`` across all ``columns``, above its methods' rows: narrower
    than an experiment column, so that wide tables print at >= 8 pt."""
    return f"\\multicolumn{{{columns}}}{{@{{}}l}}{{\\textit{{{macro(experiment, 'Title')}{{}}}}}} \\\\"


def stacked(*lines: str) -> str:
    """A header cell on several lines."""
    return "\\shortstack{" + "\\\\".join(lines) + "}"


def plain_number(value: float, digits: int = 2) -> str:
    """``value`` with ``digits`` decimals, or as a x 10^k in math where it is that large."""
    if not np.isfinite(value):
        return "--"
    if abs(value) >= 1e4:
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"${mantissa}\\times10^{{{int(exponent)}}}$"
    return f"{value:.{digits}f}"


def newcommands(macros: dict[str, str]) -> str:
    return "".join(f"\\newcommand{{{name}}}{{{value}}}\n" for name, value in macros.items())
