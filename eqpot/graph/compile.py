"""Counting the shapes a jitted function is compiled for, and prefetching batches."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator

import jax


class ShapeCounter:
    """Wrap a function with ``jax.jit`` and count its traces (one per new input shape).

    ``counter = ShapeCounter(fn)``; ``counter(*args)`` runs it; ``counter.count`` is the
    number of compilations so far and ``counter.shapes`` the shapes that triggered them.
    """

    def __init__(self, fn: Callable, **jit_kwargs):
        self.count = 0
        self.shapes: list[tuple] = []

        def traced(*args, **kwargs):
            self.count += 1  # runs only while tracing, i.e. once per compiled shape
            self.shapes.append(
                tuple(getattr(x, "shape", None) for x in jax.tree_util.tree_leaves(args))
            )
            return fn(*args, **kwargs)

        self._jitted = jax.jit(traced, **jit_kwargs)

    def __call__(self, *args, **kwargs):
        return self._jitted(*args, **kwargs)


def prefetch(batches: Iterable, size: int = 2) -> Iterator:
    """Move batches to the device in a background thread, ``size`` ahead of the consumer."""
    if size < 1:
        yield from batches
        return
    buffer: queue.Queue = queue.Queue(maxsize=size)
    done = object()

    def producer():
        try:
            for batch in batches:
                buffer.put(jax.device_put(batch))
        except BaseException as error:  # handed to the consumer, raised there
            buffer.put(error)
        buffer.put(done)

    threading.Thread(target=producer, daemon=True).start()
    while True:
        item = buffer.get()
        if item is done:
            return
        if isinstance(item, BaseException):
            raise item
        yield item
