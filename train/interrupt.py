"""Stopping a training run cleanly on Ctrl-C (SIGINT) or a batch system's SIGTERM: the loop
finishes the epoch it is in, checkpoints it and raises :class:`TrainingInterruptedError`,
whose message names the epoch and the ``--resume`` command; ``eqpot`` then exits with the
shell's code for that signal (128 + its number)."""

from __future__ import annotations

import signal
import sys
import threading


class TrainingInterruptedError(Exception):
    """SIGINT or SIGTERM stopped the run after an epoch, whose checkpoint was written."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum


class StopRequest:
    """While active, SIGINT (Ctrl-C) and SIGTERM (a batch system's time limit) ask the
    training loop to stop after the current epoch (or whatever ``after`` names), which it
    then checkpoints; a second
    signal interrupts at once (``KeyboardInterrupt``). Only the main thread can take
    signals: elsewhere this does nothing."""

    def __init__(self, after: str = "this epoch and checkpointing it"):
        self.signum: int | None = None
        self.after = after
        self._previous: dict = {}

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum
        print(
            f"{self.name}: stopping after {self.after}; send it again to stop at once",
            file=sys.stderr,
            flush=True,
        )

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
