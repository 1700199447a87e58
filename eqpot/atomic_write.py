"""Files that are either the old version or the new one, never half of one.

Every file eqpot writes that something later reads back — a run's config, model record and
metrics, the CSV log it trims on resume, datasets, the CP-fit cache, prediction files — goes
through :func:`atomic_write`: the content goes to a temporary file beside the target, which
then replaces it with ``os.replace`` (atomic within one file system, POSIX and Windows). A
kill, a full disk or an exception mid-write leaves the previous file, or none, in place.

A leaf module (standard library only): every layer may use it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write to; when the ``with`` block ends
    without an exception it replaces ``path``, otherwise it is removed and ``path`` is left
    as it was.

    The temporary name is hidden (leading dot), unique per process and call, and keeps
    ``path``'s suffix, so writers that infer the format from the name (``np.savez``,
    ``ase.io.write``) write the same format. The parent directory is created if missing.
    The writer creates the file, so it gets the usual permissions (umask), as a direct write
    would. Close what was opened on the temporary path inside the block.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}-{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
