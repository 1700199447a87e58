"""One writer per run directory: an advisory ``fcntl.flock`` on ``RUN_DIR/.lock``.

The training process holds the lock from start to end; a second ``eqpot train`` (a second
``--resume``, the same ``name=``) fails at once with a message naming the holder (its pid,
host and start time, which the holder writes into the file). The kernel drops the lock when
its process dies, however it dies, so a lock left by a killed run is never in the way: the
file stays, unlocked, and the next run takes it over (and says whose it was).
"""

from __future__ import annotations

import datetime
import fcntl
import os
import socket
from pathlib import Path

LOCK_FILE = ".lock"


class RunInUseError(FileExistsError):
    """Another process is training into the run directory."""


class RunLock:
    """``with RunLock(run_dir) as lock:`` holds the directory; ``lock.previous`` is what a
    dead holder had written (None when the lock was never held)."""

    def __init__(self, run_dir: str | os.PathLike):
        self.path = Path(run_dir) / LOCK_FILE
        self.previous: str | None = None
        self._file = None

    def __enter__(self) -> RunLock:
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RunInUseError(
                f"{self.path.parent} is in use by {holder}: one process trains into a run "
                "directory at a time; wait for it to end or stop it"
            ) from None
        handle.seek(0)
        self.previous = handle.read().strip() or None
        handle.seek(0)
        handle.truncate()
        started = datetime.datetime.now().isoformat(timespec="seconds")
        handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {started}\n")
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            self._file.truncate(0)
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
