#!/usr/bin/env bash
# MACE on AcAc (issue 5) as a long CPU run: the recipe at 64x(0e+1o+2e), float32, 1000 epochs,
# stage two from epoch 800 (25-37 s per epoch on the 2-core CPU, so 7-10 hours). The first call
# starts the run, later calls resume it from its last checkpoint; it runs niced (and, when
# started with setsid, in its own autogroup: `echo 19 > /proc/PID/autogroup`) so that
# foreground work keeps the CPU. Pause it with `kill -STOP PID`, continue with `kill -CONT`;
# stop it with `kill PID` (SIGTERM): it finishes and checkpoints the epoch it is in.
#
#   mkdir -p .runs && setsid nohup bash benchmarks/acac_cpu.sh >> .runs/acac.log 2>&1 < /dev/null &
#
# RUNS (default .runs, git-ignored) holds the run directory acac-c64-cpu; at the end of a
# session stop the run, `bash benchmarks/acac_cpu_snapshot.sh` (evaluates it and copies its
# state to benchmarks/results/mace_acac_cpu2/run) and commit: the next session continues it.
# Extra arguments are overrides, for a new run or a resumed one (max_num_epochs=... extends it).
# CHANNELS (default 64) picks the width: other widths are runs of their own, acac-cN-cpu with
# their state in benchmarks/results/mace_acac_cpu2_cN/run (the snapshot script takes CHANNELS
# too), e.g. CHANNELS=128 ... acac_cpu.sh max_num_epochs=800 start_stage_two=650.
set -uo pipefail
source "$(dirname "$0")/acac_cpu_paths.sh"
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$runs/.jax_cache}
# the run outlives a session through its committed state: continue from there when this
# machine has no run of its own (the state's checkpoints are the run's last and best)
state=$results/run
if [ ! -f "$run/config.yaml" ] && [ -f "$state/config.yaml" ]; then
    mkdir -p "$runs" && cp -r "$state" "$run"
fi
if [ -f "$run/config.yaml" ]; then
    exec nice -n 19 eqpot train --resume "$run" progress=false "$@"
fi
exec nice -n 19 eqpot train train/configs/mace-acac.yaml "run_dir=$runs" "name=$name" \
    dtype=float32 progress=false "model_config.num_channels=$channels" max_num_epochs=1000 \
    start_stage_two=800 "$@"
