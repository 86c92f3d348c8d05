"""Files that are never seen half-written: written beside their target, then renamed into place."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(out: str | Path, content: bytes | str) -> None:
    """Write ``out`` via a temporary file beside it, so that it is never left half-written."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, out.stat().st_mode & 0o777 if out.exists() else 0o644)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
