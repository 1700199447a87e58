#!/usr/bin/env bash
# The peer of benchmarks/training_vs_mace_torch.py: mace-torch's own trainer on AcAc with the
# recipe of train/configs/mace-acac.yaml at a reduced width (32x(0e+1o)), float64, CPU.
#   MACE_BIN=/path/to/venv/bin bash benchmarks/peers/mace_torch_acac.sh EPOCHS STAGE_TWO
# Run it in an empty directory: mace_run_train writes checkpoints/, logs/, results/ there.
set -euo pipefail
epochs=${1:-40}
stage_two=${2:-30}
data=${EQPOT_DATA:-$(cd "$(dirname "$0")/../../../shared/data" && pwd)}
TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 "${MACE_BIN:-/tmp/mt/bin}/mace_run_train" --name acac32 \
    --seed 0 --train_file "$data/acac/train_300K.xyz" --valid_fraction 0.1 \
    --test_file "$data/acac/test_MD_300K.xyz" \
    --E0s "{1: -13.568422178253735, 6: -1026.8538996116154, 8: -2037.796869412825}" \
    --energy_key energy --forces_key forces \
    --model MACE --num_channels 32 --max_L 1 --r_max 5.0 --num_radial_basis 8 --max_ell 3 \
    --correlation 3 --num_interactions 2 --radial_MLP "[64, 64, 64]" --MLP_irreps 16x0e \
    --batch_size 5 --valid_batch_size 10 --max_num_epochs "$epochs" --lr 0.01 --amsgrad \
    --weight_decay 5e-7 --clip_grad 10 --scheduler_patience 50 --lr_factor 0.8 \
    --ema --ema_decay 0.99 --energy_weight 1 --forces_weight 1000 --default_dtype float64 \
    --device cpu --eval_interval 1 --error_table TotalRMSE \
    --swa --start_swa "$stage_two" --swa_lr 0.001 --swa_energy_weight 1000 --swa_forces_weight 100
