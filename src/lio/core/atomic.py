"""Files that are never seen half-written: written beside their target, then renamed into place.

The one implementation of atomic writes in lio; every writer of a file uses it:

- ``write_atomically(out, content)`` for text or bytes in hand (JSON, CSV from
  ``DataFrame.to_csv()``, Markdown, a copied file's bytes);
- ``atomic_path(out)`` for writers that want a path of their own to write to
  (``Dataset.to_netcdf``, ``Figure.savefig``): they write the temporary path it yields,
  which replaces ``out`` only when the block ends without an exception.

The temporary file sits in ``out``'s directory (so the rename is atomic: same file system),
is hidden (``.{name}.<random>.tmp``, so globs such as ``*.json`` or ``*.nc`` never pick it
up) and is removed if the write fails, leaving any previous ``out`` untouched. ``out`` keeps
its permissions if it existed, and is otherwise made ``0o644``. A temporary path carries no
file extension of ``out``'s: a writer that infers the format from the name (``savefig``)
must be told the format.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(out: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``out`` to write; on a clean exit it replaces ``out``.

    On an exception the temporary file is removed and ``out`` (if any) is left as it was.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, out.stat().st_mode & 0o777 if out.exists() else 0o644)
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)


def write_atomically(out: str | Path, content: bytes | str) -> None:
    """Write ``content`` (text is UTF-8 encoded) to ``out`` so that it is never left half-written."""
    data = content.encode() if isinstance(content, str) else content
    with atomic_path(out) as temporary:
        temporary.write_bytes(data)
