"""A trained run as a model directory to use or fine-tune: weights only, one energy head.

A run directory carries what training needs: the optimiser state of the last epoch
(AMSGrad's moments, twice the parameters), the raw and the EMA weights, and, for a
multi-head fine-tuned run, every head. :func:`export_model` writes what using the model
needs, in the same layout, so that ``eqpot eval|md|relax``, :class:`EqpotCalculator` and
``foundation_model=`` take it as they take a run::

    config.yaml        the run's, naming the head's own training data (below)
    model.json         the one-head record: that head's E0s, scale and shift
    checkpoints/best/<epoch>   the chosen weights (EMA when kept) as plain parameters

Picking one head of a multi-head model is mace-torch's ``mace_select_head``
(:func:`eqpot.models.heads.select_head`). The foundation head's training data is the
replay file, so its ``config.yaml`` names that as ``train_file``: fine-tuning the exported
head with ``multihead_finetuning`` replays it again.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

from flax import nnx

from eqpot.models.heads import select_head
from eqpot.train import checkpoint
from eqpot.train.config import load_config, save_config


def _one_head_record(record: dict, head: int, dtype: str | None) -> dict:
    """``record`` (a run's ``model.json``) as the record of its head ``head`` alone."""
    statistics = dict(record["statistics"])
    if statistics.get("heads"):
        for key in ("atomic_energies", "scale", "shift"):
            statistics[key] = statistics[key][head]
    statistics["heads"] = None
    model_config = {k: v for k, v in record["model_config"].items() if k != "num_heads"}
    return dict(
        record,
        model_config=model_config,
        statistics=statistics,
        dtype=dtype or record["dtype"],
        ema=False,
    )


def _one_head_config(run_dir: Path, head_name: str, heads: list[str]):
    """The run's ``config.yaml`` for the head ``head_name`` alone: not multi-head, and
    ``train_file`` the data that head was trained on."""
    config = load_config(run_dir / "config.yaml")
    if len(heads) > 1 and head_name == heads[0]:  # the foundation head: the replayed data
        config = dataclasses.replace(config, train_file=config.replay_file)
    return dataclasses.replace(config, multihead_finetuning=False, replay_file=None)


def export_model(
    run_dir: str | Path,
    out_dir: str | Path,
    head: str | int | None = None,
    which: str = "best",
    dtype: str | None = None,
    use_ema: bool = True,
) -> Path:
    """Write the weights of ``run_dir``'s checkpoint ``which`` (``"best"`` or ``"last"``;
    the EMA weights when the run kept them and ``use_ema``) for energy head ``head`` (a name
    or index; None: the last, as everywhere) into the new directory ``out_dir``, in
    precision ``dtype`` (default the run's). ``out_dir`` must not exist; it appears
    complete or not at all. Returns ``out_dir``."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    if out_dir.exists():
        raise FileExistsError(f"{out_dir} exists; export writes a new directory")
    record = checkpoint.read_model_file(run_dir)
    pot, meta = checkpoint.restore_potential(run_dir, which, dtype, use_ema)
    index = pot.head_index(head)
    one = _one_head_record(record, index, dtype)
    single = checkpoint.build_from_record(one)
    params = select_head(nnx.to_pure_dict(pot.params), nnx.to_pure_dict(single.params), index)
    has_config = (run_dir / "config.yaml").is_file()
    config = _one_head_config(run_dir, pot.heads[index], pot.heads) if has_config else None
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        checkpoint.write_model_file(tmp, one)
        if config is not None:
            save_config(config, tmp / "config.yaml")
        exported = dict(
            epoch=meta["epoch"],
            exported_from=str(run_dir.absolute()),
            checkpoint=which,
            head=pot.heads[index],
            ema=bool(use_ema and record.get("ema")),
        )
        mgr = checkpoint.manager(tmp / "checkpoints" / "best")
        checkpoint.save(mgr, meta["epoch"], {"params": params}, None, exported)
        mgr.close()
        os.rename(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


__all__ = ["export_model"]
