#!/usr/bin/env bash
# One device visit for the kernels (issue 8): compile and check the Pallas kernels and the
# cuEquivariance (uniform_1d) path on the GPU, then time them beside XLA, e3nn-jax and
# cuEquivariance's own operations at DESIGN §5's shapes. Writes everything under $OUT.
# Run from the repository root on the GPU machine after installing the wheels (see the
# device tool's README), e.g.  bash benchmarks/gpu_kernels.sh
set -uo pipefail
out=${OUT:-bench-results}
mkdir -p "$out"
python3 -m pytest -q -p no:cacheprovider tests/kernels/test_pallas_gpu.py -rs \
    2>&1 | tee "$out/pallas_gpu_checks.log"
eqpot bench model --products cg cg:pallas cg:cueq cueq cueq:naive so2 so2:pallas gaunt_grid \
    gaunt_grid:pallas e3nn --sc-impls xla pallas cueq cueq-naive cueq-uniform_1d \
    --models mace-small mace-small-pallas mace-small-cueq mace-medium mace-medium-pallas \
    mace-medium-cueq \
    --sizes 256 1024 4096 --out "$out/model_pallas.json" 2>&1 | tee "$out/model_pallas.log"
eqpot bench tp --families gaunt_grid e3nn_s2grid --settings MIMO channelwise --L 2 4 6 8 \
    --channels 1 64 --orders fwd fwd+bwd 2nd --out "$out/tp_s2grid" 2>&1 | tail -40
