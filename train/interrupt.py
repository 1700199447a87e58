"""Stopping a training run cleanly on Ctrl-C (SIGINT) or a batch system's SIGTERM: the loop
finishes the epoch it is in, checkpoints it and raises :class:`TrainingInterruptedError`,
whose message names the epoch and the ``--resume`` command; ``eqpot`` then exits with the
shell's code for that signal (128 + its number). A second signal stops at once, except
while a checkpoint is being written (:meth:`StopRequest.deferred`): it then stops as soon as
the write is complete, so the run directory stays resumable either way."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading


class TrainingInterruptedError(Exception):
    """SIGINT or SIGTERM stopped the run; its checkpoints are complete and loadable."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum


class StopRequest:
    """While active, SIGINT (Ctrl-C) and SIGTERM (a batch system's time limit) ask the
    training loop to stop after the current epoch (or whatever ``after`` names), which it
    then checkpoints; a second signal raises :class:`TrainingInterruptedError` at once
    (``resume`` says how to continue), or, inside :meth:`deferred`, when that ends. Only
    the main thread can take signals: elsewhere this does nothing."""

    def __init__(self, after: str = "this epoch and checkpointing it", resume: str = ""):
        self.signum: int | None = None
        self.after, self.resume = after, resume
        self._previous: dict = {}
        self._deferring = 0
        self._second: int | None = None

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:
            if self._deferring:
                self._second = signum
                return
            raise self._at_once(signum)
        self.signum = signum
        print(
            f"{self.name}: stopping after {self.after}; send it again to stop at once",
            file=sys.stderr,
            flush=True,
        )

    def _at_once(self, signum: int) -> TrainingInterruptedError:
        name = signal.Signals(signum).name
        hint = f"; continue with `{self.resume}`" if self.resume else ""
        return TrainingInterruptedError(
            f"{name} a second time: stopped at once; the last checkpoint is intact{hint}",
            signum,
        )

    @contextlib.contextmanager
    def deferred(self):
        """A section (a checkpoint write) that a second signal does not interrupt: it stops
        the run once the section is over."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
        if self._second is not None and not self._deferring:
            raise self._at_once(self._second)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""

    def error(self, epoch: int, run_dir) -> TrainingInterruptedError:
        """What the loop raises once it has checkpointed ``epoch`` and stopped."""
        return TrainingInterruptedError(
            f"{self.name} after epoch {epoch}, which is checkpointed; "
            f"continue with `eqpot train --resume {run_dir}`",
            self.signum,
        )

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
