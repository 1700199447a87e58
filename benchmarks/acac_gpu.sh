#!/usr/bin/env bash
# MACE on AcAc (issue 5, the MACE paper's Table 3 setup) on the GPU machine, in calls that fit
# its 10-minute commands. The run lives in RUN (default .runs/mace-acac) and XLA's compiled
# programs in .jax_cache/ (both git-ignored and kept on the machine while it stays warm).
#
# Chunked (default): each call trains for at most CHUNK_S seconds, checkpoints and evaluates;
# the next call continues with --resume (and compiles nothing again).
#   bash benchmarks/acac_gpu.sh [key=value ...]     # first call: overrides for a new run
#   bash benchmarks/acac_gpu.sh                     # later calls: resume
#
# Detached (DETACH=1): the first call starts one uninterrupted run in its own process session,
# which outlives the call while the machine is held; every call (the first too) waits up to
# CHUNK_S seconds for it to finish and collects what it has written so far. No time goes to
# restarts, but the machine must be called again within its warm window. STOP=1 instead
# stops the run (SIGTERM: it checkpoints the epoch it is in) and collects it.
#   DETACH=1 bash benchmarks/acac_gpu.sh [key=value ...]
#   STOP=1 bash benchmarks/acac_gpu.sh
#
# FROM=DIR seeds RUN with a run directory carried in the tree (a CPU run's committed state,
# e.g. benchmarks/results/mace_acac_cpu2_c128/run) when RUN does not exist yet, so a lease
# continues that run; its overrides (max_num_epochs=...) apply as on any resume.
#
# Writes under $OUT (at most 8 files come back from the machine): the log, metrics and
# config; once the run has finished, its best weights as best.tar.* parts of under 16 MiB;
# with STOP=1 an unfinished run comes back whole as run.tar.* parts (`cat run.tar.* | tar -x`;
# the 128-channel run's 22 MB fit, a 256-channel run's state is over the 64 MiB that returns).
set -uo pipefail
out=${OUT:-acac-results}
chunk=${CHUNK_S:-450}
run=${RUN:-.runs/mace-acac}
mkdir -p "$out" "$(dirname "$run")"
export JAX_COMPILATION_CACHE_DIR=$PWD/.jax_cache
if [ -n "${FROM:-}" ] && [ ! -f "$run/config.yaml" ]; then
    cp -r "$FROM" "$run"
fi

train() {
    if [ -f "$run/config.yaml" ]; then
        eqpot train --resume "$run" "$@"
    else
        eqpot train train/configs/mace-acac.yaml "run_dir=$(dirname "$run")" \
            "name=$(basename "$run")" dtype=float32 "$@"
    fi
}

running() { [ -f "$run.pid" ] && kill -0 "$(cat "$run.pid")" 2>/dev/null; }

collect() {
    cp "$run.log" "$out/train.log"
    for f in metrics.csv metrics.json config.yaml model.json parity_acac_test.png; do
        [ -f "$run/$f" ] && cp "$run/$f" "$out/"
    done
    if [ -f "$run/metrics.json" ] && [ -d "$run/checkpoints/best" ]; then
        tar -C "$run" -cf - checkpoints/best | split -b 15m - "$out/best.tar."
    fi
    tail -n 3 "$run/metrics.csv"
}

if [ "${STOP:-0}" = 1 ]; then
    # the eqpot process is the detached shell's child: it takes SIGTERM, the shell follows
    running && pkill -TERM -P "$(cat "$run.pid")"
    while running; do sleep 1; done
    collect
    if [ ! -f "$run/metrics.json" ]; then  # unfinished: all of it (the tar holds the rest)
        rm -f "$out"/metrics.* "$out"/config.yaml "$out"/model.json "$out"/parity_*
        tar -C "$(dirname "$run")" -cf - "$(basename "$run")" | split -b 15m - "$out/run.tar."
    fi
    exit 0
fi

if [ "${DETACH:-0}" != 1 ]; then
    train progress=true "max_time=$chunk" "$@" 2>&1 | tee -a "$run.log"
    status=${PIPESTATUS[0]}
    collect
    exit "$status"
fi

if ! running && [ ! -f "$run/metrics.json" ]; then
    # its own session: the device machine ends a call's processes, but not those
    export run && export -f train
    setsid bash -c 'train "$@"' train progress=false "$@" >> "$run.log" 2>&1 < /dev/null &
    echo $! > "$run.pid"
fi
started=$SECONDS
while running && ((SECONDS - started < chunk)); do sleep 5; done
running && echo "still training after $((SECONDS - started)) s" || echo "run finished"
tail -n 2 "$run.log"
collect
