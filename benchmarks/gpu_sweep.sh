#!/usr/bin/env bash
# The tensor-product sweep of issue 7 on the GPU, at DESIGN §5's anchor protocols, with
# e3nn-jax and cuEquivariance (cueq_cg: uniform_1d and naive) in the same run. One part per
# device command (each fits in its 10 minutes); results under $OUT, to be committed under
# benchmarks/results/tp_h100/ (CSV, JSON, plots, fastest-product tables).
#
#   bash benchmarks/gpu_sweep.sh mimo          # PriceofFreedom: one channel, batch 10000
#   bash benchmarks/gpu_sweep.sh channelwise   # 64 channels, batch 2000
#   bash benchmarks/gpu_sweep.sh anchors       # the MACE message and contraction anchors
# Further arguments go to the harness last, e.g. `... mimo --L 7 8 --name mimo_high` to split
# a part that does not fit one command.
set -uo pipefail
out=${OUT:-bench-results}
mkdir -p "$out"
degrees=(1 2 3 4 5 6 7 8)
part=${1:-mimo}
shift || true
case $part in
    mimo)
        eqpot bench tp --settings MIMO --L "${degrees[@]}" --channels 1 --batch 10000 \
            --orders fwd fwd+bwd --out "$out" --name mimo "$@" 2>&1 | tee "$out/mimo.log" ;;
    channelwise)
        eqpot bench tp --settings channelwise --L "${degrees[@]}" --channels 64 --batch 2000 \
            --orders fwd fwd+bwd --out "$out" --name channelwise "$@" 2>&1 | tee "$out/channelwise.log" ;;
    anchors)
        eqpot bench model --products cg cg:pallas cg:cueq cueq cueq:naive e3nn \
            --sc-impls xla pallas cueq cueq-naive cueq-uniform_1d --models mace-small \
            --sizes 1024 --out "$out/anchors.json" "$@" 2>&1 | tee "$out/anchors.log" ;;
    *)
        echo "usage: bash benchmarks/gpu_sweep.sh mimo|channelwise|anchors" >&2
        exit 2 ;;
esac
