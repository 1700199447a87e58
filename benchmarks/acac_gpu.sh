#!/usr/bin/env bash
# MACE on AcAc (issue 5, the MACE paper's Table 3 setup) on the GPU machine, in chunks that
# fit its 10-minute commands. Each call trains for at most CHUNK_S seconds, checkpoints and
# evaluates; the next call (while the machine is still warm) continues with --resume. The
# run lives in .runs/ and XLA's compiled programs in .jax_cache/ (both git-ignored and kept
# on the machine between calls), so a resumed chunk does not compile again.
#
#   bash benchmarks/acac_gpu.sh [key=value ...]     # first call: overrides for a new run
#   bash benchmarks/acac_gpu.sh                     # later calls: resume
#
# Writes the files worth committing under $OUT (at most 8 come back from the machine).
set -uo pipefail
out=${OUT:-acac-results}
chunk=${CHUNK_S:-450}
run=.runs/mace-acac
mkdir -p "$out" .runs
export JAX_COMPILATION_CACHE_DIR=$PWD/.jax_cache
if [ -f "$run/config.yaml" ]; then
    eqpot train --resume "$run" progress=true "max_time=$chunk" "$@"
else
    eqpot train train/configs/mace-acac.yaml run_dir=.runs dtype=float32 progress=true \
        "max_time=$chunk" "$@"
fi 2>&1 | tee -a "$run.log"
status=${PIPESTATUS[0]}
cp "$run.log" "$out/train.log"
for f in metrics.csv metrics.json config.yaml model.json parity_acac_test.png; do
    [ -f "$run/$f" ] && cp "$run/$f" "$out/"
done
tail -n 3 "$run/metrics.csv"
exit "$status"
