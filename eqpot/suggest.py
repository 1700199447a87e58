"""The "did you mean …?" hint of every error about a mistyped name: config keys, model
hyperparameters, dataset names, tensor-product families and their options.

A leaf module (standard library only): every layer may use it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the entry of ``known`` closest to ``name``, or ``""``
    when none is close (difflib's similarity ratio below 0.6)."""
    hint = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {hint[0]!r}?" if hint else ""
