"""Where a training step spends its time: the step of a recipe, timed and traced per XLA op.

    python benchmarks/profile_step.py train/configs/mace-acac.yaml dtype=float32 \\
        model_config.num_channels=64 [--reps 30] [--top 30] [--out DIR]

Builds the trainer of the recipe (with the overrides), takes its first training batch, times
the jitted step (median and minimum of ``--reps`` calls after compilation), then records a
profiler trace of three steps and attributes each traced XLA op to the JAX operation it came
from (the ``op_name`` of the compiled HLO). Prints the ``--top`` ops and writes
``profile_step.json`` (machine, JAX version, date, step times, ops) under ``--out``.

It found the layout changes whose transposes XLA:CPU fused into every gathered edge row
(``kernels/notes/message.md``).
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

import jax

from eqpot.bench import provenance
from eqpot.graph.batch import iterate_batches
from eqpot.train.config import load_config
from eqpot.train.data import prepare
from eqpot.train.trainer import Trainer

OP = re.compile(r'^\s*(?:ROOT )?%(\S+) = (\S+) .*?op_name="([^"]*)"', re.M)


def traced_op_times(trace_dir: str, steps: int) -> collections.Counter:
    """Microseconds per step of each named event in the perfetto trace."""
    path = sorted(glob.glob(f"{trace_dir}/plugins/profile/*/perfetto_trace.json.gz"))[-1]
    with gzip.open(path) as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    total = collections.Counter()
    for e in events:
        if e.get("ph") == "X":
            total[e["name"]] += e.get("dur", 0) / steps
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("overrides", nargs="*", help="KEY=VALUE, as for `eqpot train`")
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", default=".")
    args = parser.parse_args()

    run_dir = tempfile.mkdtemp(prefix="profile_step_")
    config = load_config(args.config, [f"run_dir={run_dir}", "progress=false", *args.overrides])
    jax.config.update("jax_enable_x64", config.dtype == "float64")
    data = prepare(config)
    trainer = Trainer(config, Path(run_dir), data)  # a new run: no base model
    state = trainer.initial()
    batch = next(
        iter(
            iterate_batches(
                data.train,
                config.batch_size,
                seed=0,
                budgets=trainer.budgets,
                reference_energies=trainer.pot.atomic_energies,
            )
        )
    )
    step_args = (
        state["params"],
        state["opt_state"],
        state["ema"],
        0,
        batch,
        trainer.weights(False),
    )

    # one compilation serves the timing, the trace and the op names
    start = time.perf_counter()
    step = trainer.step_fn.lower(*step_args).compile()
    compile_s = time.perf_counter() - start
    jax.block_until_ready(step(*step_args))
    times = []
    for _ in range(args.reps):
        start = time.perf_counter()
        jax.block_until_ready(step(*step_args))
        times.append(1e3 * (time.perf_counter() - start))

    hlo = step.as_text()
    ops = {m.group(1): (m.group(2), m.group(3)) for m in OP.finditer(hlo)}
    trace_dir = tempfile.mkdtemp(prefix="profile_trace_")
    steps = 3
    jax.profiler.start_trace(trace_dir, create_perfetto_trace=True)
    for _ in range(steps):
        jax.block_until_ready(step(*step_args))
    jax.profiler.stop_trace()
    per_op = {k: v for k, v in traced_op_times(trace_dir, steps).items() if k in ops}

    top = sorted(per_op.items(), key=lambda kv: -kv[1])[: args.top]
    rows = [dict(op=k, ms_per_step=v / 1e3, shape=ops[k][0], jax_op=ops[k][1]) for k, v in top]
    record = dict(
        **provenance(),
        config=args.config,
        overrides=args.overrides,
        nodes=int(batch.positions.shape[0]),
        edges=int(batch.senders.shape[0]),
        compile_s=compile_s,
        step_ms_median=statistics.median(times),
        step_ms_min=min(times),
        traced_ops_ms_per_step=sum(per_op.values()) / 1e3,
        top_ops=rows,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "profile_step.json").write_text(json.dumps(record, indent=1))
    print(
        f"step {record['step_ms_median']:.1f} ms median, {record['step_ms_min']:.1f} min "
        f"({record['nodes']} nodes, {record['edges']} edges); compile {compile_s:.0f} s"
    )
    for r in rows:
        print(f"{r['ms_per_step']:8.2f} ms  {r['shape'][:30]:30s}  {r['jax_op'][-80:]}")


if __name__ == "__main__":
    main()
