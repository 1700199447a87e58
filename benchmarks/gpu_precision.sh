#!/usr/bin/env bash
# Float32 products on the GPU (issue 5): JAX lets a GPU compute float32 matrix products in
# TensorFloat32 (a 10-bit mantissa) unless asked otherwise, and eqpot.models.predict traces
# float32 models under true float32 unless the caller sets jax_default_matmul_precision.
# One device visit answers both questions left open by the 256-channel AcAc run (1.49 meV on
# the H100 against 1.31 on the CPU, same checkpoint):
#   * accuracy: one checkpoint evaluated on AcAc's test sets with eqpot's default (true
#     float32) and with JAX_DEFAULT_MATMUL_PRECISION=tensorfloat32 (compare both with the
#     CPU's float32 evaluation of the same checkpoint);
#   * cost: the AcAc recipe's training step (128 channels) and the MD step (mace-small and
#     mace-medium at 64 and 512 atoms), timed both ways.
#
#   bash benchmarks/gpu_precision.sh [RUN_DIR]
#
# TIMINGS=0 runs the evaluations only (they are valid beside a training run on the same GPU,
# the timings are not).
#
# RUN_DIR defaults to the 128-channel CPU run's committed state (its best checkpoint); the
# AcAc data must be under $EQPOT_DATA. Writes two files under $OUT (default
# precision-results; the device returns at most 8): gpu_precision.log and
# gpu_precision.json, {"default": ..., "tensorfloat32": ...} each with the provenance
# (device, versions, date, jax_default_matmul_precision: "unset" is eqpot's true float32),
# the eval rows, the profiled step and the MD steps.
set -uo pipefail
out=${OUT:-precision-results}
run=${1:-benchmarks/results/mace_acac_cpu2_c128/run}
parts=$(mktemp -d)
mkdir -p "$out"
export JAX_COMPILATION_CACHE_DIR=$PWD/.jax_cache

with_precision() {
    # "default": the variable unset, so eqpot's own choice (true float32) applies
    local precision=$1
    shift
    if [ "$precision" = default ]; then
        env -u JAX_DEFAULT_MATMUL_PRECISION "$@"
    else
        JAX_DEFAULT_MATMUL_PRECISION=$precision "$@"
    fi
}

for precision in default tensorfloat32; do
    echo "== $precision"
    with_precision "$precision" python3 -c "import json; from eqpot.bench import provenance; \
print(json.dumps(provenance()))" > "$parts/provenance_$precision.json"
    with_precision "$precision" eqpot eval "$run" acac:test acac:train_600K \
        --json "$parts/eval_$precision.json"
    [ "${TIMINGS:-1}" = 0 ] && continue
    with_precision "$precision" python3 benchmarks/profile_step.py \
        train/configs/mace-acac.yaml dtype=float32 model_config.num_channels=128 \
        --reps 30 --top 10 --out "$parts/step_$precision"
    with_precision "$precision" python3 benchmarks/md_throughput.py "$parts/md_$precision.json" \
        --sizes 64 512 --models mace-small mace-medium
done 2>&1 | tee "$out/gpu_precision.log"
python3 - "$parts" "$out/gpu_precision.json" <<'PY'
import json
import sys
from pathlib import Path

parts = Path(sys.argv[1])
names = {"provenance": "provenance_{}.json", "eval": "eval_{}.json",
         "step": "step_{}/profile_step.json", "md": "md_{}.json"}
record = {
    precision: {key: json.loads((parts / name.format(precision)).read_text())
                for key, name in names.items() if (parts / name.format(precision)).exists()}
    for precision in ("default", "tensorfloat32")
}
Path(sys.argv[2]).write_text(json.dumps(record, indent=1))
PY
