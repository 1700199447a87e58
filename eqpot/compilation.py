"""Compilation once per machine: JAX's persistent compilation cache, and what compiling cost.

A model's energy-and-forces program takes XLA ~10 s to compile on a 2-core CPU (a MACE of
128 channels), which dominated every ``eqpot eval``, ``md`` and ``relax`` of a small file.
JAX's persistent cache (``jax_compilation_cache_dir``) keeps each compiled executable on
disk, keyed by the program's HLO, the compile options, the device and the JAX/XLA
versions, so a later process with the same model and shapes loads it instead; only tracing
and lowering (seconds) remain.

:func:`enable_persistent_cache` switches it on for the CLI and the ASE calculator:

* ``EQPOT_COMPILE_CACHE`` = a directory moves it; ``off`` (or ``0``, ``none``, ``false``)
  disables it; unset: ``<user cache dir>/eqpot/jax`` (``~/.cache/eqpot/jax`` on Linux);
* a cache the caller has configured already (``JAX_COMPILATION_CACHE_DIR`` or
  ``jax.config.update("jax_compilation_cache_dir", ...)``) is left as it is;
* every program is cached, however quick its compile (JAX's default skips those under
  1 s: a model's start-up is many of them), in at most ``MAX_CACHE_BYTES`` (least
  recently used entries go first).

:class:`CompileClock` adds up, from JAX's own monitoring events, the seconds spent tracing,
lowering and compiling (or loading from the cache) since it started, for the one-line
summary each command prints.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import jax

CACHE_ENV = "EQPOT_COMPILE_CACHE"
OFF = ("off", "0", "none", "false", "no", "")
MAX_CACHE_BYTES = 4 * 1024**3

_TRACE = "/jax/core/compile/jaxpr_trace_duration"
_LOWER = "/jax/core/compile/jaxpr_to_mlir_module_duration"
_COMPILE = "/jax/core/compile/backend_compile_duration"  # includes reading the cache
_HIT = "/jax/compilation_cache/cache_hits"


def cache_directory(directory: str | os.PathLike | None = None) -> Path | None:
    """The cache directory eqpot would use: ``directory``, else ``$EQPOT_COMPILE_CACHE``, else
    the user cache directory; None when switched off."""
    chosen = directory if directory is not None else os.environ.get(CACHE_ENV)
    if chosen is None:
        import platformdirs

        return Path(platformdirs.user_cache_dir("eqpot")) / "jax"
    if str(chosen).strip().lower() in OFF:
        return None
    return Path(chosen).expanduser().absolute()


def enable_persistent_cache(directory: str | os.PathLike | None = None) -> Path | None:
    """Switch JAX's persistent compilation cache on (see the module docstring); returns the
    directory in use, or None when it is off. A cache directory configured in JAX already
    wins over eqpot's default (not over an explicit ``directory``)."""
    configured = jax.config.jax_compilation_cache_dir
    if configured and directory is None:
        return Path(configured)
    path = cache_directory(directory)
    if path is None:
        return None
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    jax.config.update("jax_compilation_cache_max_size", MAX_CACHE_BYTES)
    # JAX decides once per process, at its first compilation, whether a cache is in use: a
    # process that compiled before this call would otherwise go on without one
    from jax.experimental.compilation_cache import compilation_cache

    compilation_cache.reset_cache()
    return path


class _Totals:
    """Seconds per compile stage and the cache hits, summed over the process."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seconds = {_TRACE: 0.0, _LOWER: 0.0, _COMPILE: 0.0}
        self.compiles = 0
        self.hits = 0

    def on_duration(self, event: str, duration: float, **_) -> None:
        if event in self.seconds:
            with self.lock:
                self.seconds[event] += duration
                self.compiles += event == _COMPILE

    def on_event(self, event: str, **_) -> None:
        if event == _HIT:
            with self.lock:
                self.hits += 1

    def snapshot(self) -> tuple[float, float, float, int, int]:
        with self.lock:
            s = self.seconds
            return s[_TRACE], s[_LOWER], s[_COMPILE], self.compiles, self.hits


_totals: _Totals | None = None


def _listening() -> _Totals:
    global _totals
    if _totals is None:
        _totals = _Totals()
        jax.monitoring.register_event_duration_secs_listener(_totals.on_duration)
        jax.monitoring.register_event_listener(_totals.on_event)
    return _totals


class CompileClock:
    """Compile time since this clock started: ``trace_s`` (Python tracing), ``lower_s``
    (to StableHLO), ``compile_s`` (XLA, or loading the executable from the cache),
    ``programs`` compiled or loaded and ``cache_hits`` among them."""

    def __init__(self):
        self._start = _listening().snapshot()

    def read(self) -> dict:
        now = _listening().snapshot()
        trace, lower, compile_, programs, hits = (
            b - a for a, b in zip(self._start, now, strict=True)
        )
        return {
            "trace_s": trace,
            "lower_s": lower,
            "compile_s": compile_,
            "total_s": trace + lower + compile_,
            "programs": programs,
            "cache_hits": hits,
        }

    def summary(self) -> str:
        """``compile: 12.3 s (trace 2.1, lower 0.4, XLA 9.8; 5 programs, 3 from the cache
        ~/.cache/eqpot/jax)``."""
        r = self.read()
        where = jax.config.jax_compilation_cache_dir
        cache = f", {r['cache_hits']} from the cache {where}" if where else "; no cache"
        return (
            f"compile: {r['total_s']:.1f} s (trace {r['trace_s']:.1f}, lower "
            f"{r['lower_s']:.1f}, XLA {r['compile_s']:.1f}; {r['programs']} programs{cache})"
        )
