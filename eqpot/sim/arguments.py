"""Argument checks shared by the simulation drivers: one error that names every bad value."""

from __future__ import annotations


def check_arguments(*checks: tuple[str, object, bool, str]) -> None:
    """Raise one ValueError naming every ``(name, value, ok, rule)`` whose ``ok`` is false
    (a NaN compares false, so it is caught too)."""
    problems = [
        f"{name} must be {rule}, got {value!r}" for name, value, ok, rule in checks if not ok
    ]
    if problems:
        raise ValueError("; ".join(problems))
