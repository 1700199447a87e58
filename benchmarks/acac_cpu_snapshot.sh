#!/usr/bin/env bash
# The end-of-session half of acac_cpu.sh: after stopping the run (`kill PID`: it finishes
# the epoch it is in, checkpoints it and exits; wait for it), evaluate its best checkpoint on
# test_MD_300K and train_600K and replace the committed state with the run's, so the next
# session continues it. A finished run has evaluated itself (metrics.json, parity plots of
# every set): those are copied instead.
#
#   bash benchmarks/acac_cpu_snapshot.sh        # then update the READMEs and commit
#
# Writes results/mace_acac_cpu2/{metrics_epochN.json, parity_*.png, learning_curve.png,
# run/}. RUNS and CHANNELS as in acac_cpu.sh (defaults .runs and 64).
set -euo pipefail
source "$(dirname "$0")/acac_cpu_paths.sh"
mkdir -p "$results"
if pgrep -f "eqpot train (--resume $run|.* name=$name )" > /dev/null; then
    echo "the run $name is still going: stop it first (kill PID of its 'eqpot train')" >&2
    exit 1
fi
epoch=$(tail -n 1 "$run/metrics.csv" | cut -d, -f1)
# written by the trainer after its last epoch (older than the log: the run was extended)
if [ "$run/metrics.json" -nt "$run/metrics.csv" ]; then
    cp "$run/metrics.json" "$results/metrics_epoch$epoch.json"
    cp "$run"/parity_*.png "$results/"
else
    eqpot eval "$run" acac:test acac:train_600K --json "$results/metrics_epoch$epoch.json" \
        --plots "$results"
fi
python - "$run/metrics.csv" "$results/learning_curve.png" "$epoch" "$channels" <<'PY'
import sys
from pathlib import Path

from eqpot.train.evaluate import learning_curve_plot

learning_curve_plot(Path(sys.argv[1]),
                    f"MACE AcAc, {sys.argv[4]} channels, CPU (epoch {sys.argv[3]})",
                    Path(sys.argv[2]))
PY
rm -rf "$results/run"
mkdir -p "$results/run"
for item in config.yaml model.json metrics.csv metrics.json train.log tensorboard checkpoints; do
    if [ -e "$run/$item" ]; then cp -r "$run/$item" "$results/run/"; fi
done
echo "epoch $epoch: $results/metrics_epoch$epoch.json; state in $results/run"
