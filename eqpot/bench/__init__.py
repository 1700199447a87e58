"""Microbenchmarks: tensor products (expressivity against runtime) beside e3nn-jax.

``eqpot bench tp`` sweeps products, degrees, channels and settings (:mod:`eqpot.bench.tp`)
and writes CSV, JSON, plots and a table (:mod:`eqpot.bench.report`) with the timing
protocol of :mod:`eqpot.bench.timing`.
"""

from eqpot.bench.timing import Timing, device_peak_flops, measure, provenance

__all__ = ["Timing", "device_peak_flops", "measure", "provenance"]
