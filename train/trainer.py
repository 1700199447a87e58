"""The training loop: ``fit(config)`` trains, validates, checkpoints and evaluates.

Each epoch shuffles the training graphs with a seed derived from ``(seed, epoch)``, packs
them into padded batches whose shapes come from a few buckets (one compilation per bucket;
loss weights and learning rate are run-time values, so stage two recompiles nothing) and
takes one optimiser step per batch. Every ``eval_interval`` epochs the EMA parameters are
validated; the scheduler sees the validation loss. Each epoch's row goes to the run's log
(:mod:`eqpot.train.epoch_log`); every ``checkpoint_interval`` epochs (default 1, and at the
end) the best weights since the previous checkpoint are written, then the last state, so
``fit(config, resume=True)`` continues exactly where a killed run stopped: same data order,
optimiser, EMA and schedule state, and a log of exactly the restored epochs. (Best before
last: a kill between the two leaves a best that the replayed epochs write again.)
A non-finite loss stops training (:class:`TrainingDivergedError`) without writing a checkpoint.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from tqdm.auto import tqdm

from eqpot.graph import bucket_budgets, iterate_batches, prefetch
from eqpot.models import Potential
from eqpot.models.heads import widen_heads
from eqpot.train import checkpoint
from eqpot.train.config import ConfigError, TrainConfig, changed_keys, load_config, save_config
from eqpot.train.data import (
    REPLAY_TEST,
    BaseModel,
    PreparedData,
    prepare,
    replay_file,
    split_replay,
)
from eqpot.train.epoch_log import EpochLog, append_text, read_rows
from eqpot.train.evaluate import (
    collect,
    error_values,
    format_table,
    learning_curve_plot,
    metrics_from,
    parity_file_name,
    parity_plot,
    write_json,
)
from eqpot.train.interrupt import StopRequest, TrainingInterruptedError
from eqpot.train.lock import RunLock
from eqpot.train.losses import weighted_loss
from eqpot.train.optim import (
    Schedule,
    ema_update,
    frozen_labels,
    learning_rate,
    make_optimizer,
    set_learning_rate,
    weight_decay_mask,
)


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite."""


class FinalEvaluationInterruptedError(TrainingInterruptedError):
    """SIGINT or SIGTERM during the final evaluation: ``results`` holds the sets finished
    (the run writes them to ``metrics.json``), the message names the others."""

    def __init__(self, message: str, results: dict, signum: int):
        super().__init__(message, signum)
        self.results = results


class ResumeRefusedError(checkpoint.CheckpointError):
    """``--resume`` would have to start a run over that has trained: refused, nothing
    written."""


def _mev(value: float | None) -> str:
    """An eV (or eV/Å) value of the epoch log in meV, 4 significant digits."""
    return f"{1e3 * value:.4g}" if value is not None else "nan"


@dataclasses.dataclass
class Result:
    run_dir: Path
    metrics: dict
    epochs: int


def base_model(config: TrainConfig, run_dir: Path, resume: bool) -> BaseModel | None:
    """The model a run continues: its own when resumed (so a
    fine-tuned run resumes without its foundation), the foundation's when fine-tuning."""
    if resume and (run_dir / checkpoint.MODEL_FILE).is_file():
        return BaseModel(f"the resumed run {run_dir}", checkpoint.read_model_file(run_dir))
    if config.foundation_model:
        where, run = f"foundation_model {config.foundation_model}", config.foundation_model
        return BaseModel(where, checkpoint.read_model_file(Path(run)), foundation=run)
    return None


def _model_record(config: TrainConfig, data: PreparedData, base: BaseModel | None) -> dict:
    model_config = dict(config.model_config)
    if base is not None:  # the continued model's keys; data.prepare checked these agree
        model_config = {**base.record["model_config"], **model_config}
    if data.statistics.heads:
        model_config["num_heads"] = len(data.statistics.heads)
    return dict(
        model=config.model,
        model_config=model_config,
        statistics=data.statistics.as_dict(),
        r_max=config.r_max,
        dtype=config.dtype,
        ema=config.ema_decay is not None,
    )


class Trainer:
    def __init__(
        self,
        config: TrainConfig,
        run_dir: Path,
        data: PreparedData,
        base: BaseModel | None = None,
    ):
        self.config, self.run_dir, self.data = config, run_dir, data
        self.record = _model_record(config, data, base)
        self.pot: Potential = checkpoint.build_from_record(self.record)
        self.optimizer = make_optimizer(config)
        self.schedule = Schedule(config)
        self.template = nnx.to_pure_dict(self.pot.params)
        # a bad pattern fails here, before anything is written
        weight_decay_mask(self.template, config.weight_decay_on)
        if config.freeze:
            frozen_labels(self.template, config.freeze)
        self.step_fn = jax.jit(self._step)
        self.eval_fn = jax.jit(self._loss_and_predictions)
        self.budgets = bucket_budgets(data.train, config.batch_size, config.num_buckets)
        # one set of shapes for validation and the final evaluation of every set, so each
        # evaluation shape compiles once
        evaluated = [*data.train, *data.valid, *(g for gs in data.tests.values() for g in gs)]
        self.eval_budgets = bucket_budgets(evaluated, config.valid_batch_size, config.num_buckets)
        self.eval_seconds_per_graph, self._validations_timed = 0.0, 0

    # -- pure functions ---------------------------------------------------------------
    def _predict(self, pure, graph):
        return self.pot.predict_with(self._params(pure), graph)

    def _loss(self, pure, graph, weights):
        return self._loss_and_predictions(pure, graph, weights)[0]

    def _loss_and_predictions(self, pure, graph, weights):
        pred = self._predict(pure, graph)
        loss = weighted_loss(
            pred,
            graph,
            energy_weight=weights[0],
            forces_weight=weights[1],
            stress_weight=weights[2],
            huber_delta=self.config.huber_delta,
        )
        return loss, pred

    def _step(self, pure, opt_state, ema, num_updates, graph, weights):
        (loss, parts), grads = jax.value_and_grad(self._loss, has_aux=True)(pure, graph, weights)
        updates, opt_state = self.optimizer.update(grads, opt_state, pure)
        pure = jax.tree_util.tree_map(jnp.add, pure, updates)
        if ema is not None:
            ema = ema_update(ema, pure, num_updates, self.config.ema_decay)
        return pure, opt_state, ema, loss, parts

    # -- loop --------------------------------------------------------------------------
    def initial(self) -> dict:
        """A new run's state: fresh weights, or the foundation model's when fine-tuning."""
        if not self.config.foundation_model:
            return self._state_from(self.template)
        c = self.config
        pot = checkpoint.load_potential(c.foundation_model, c.foundation_which, c.dtype)
        params = nnx.to_pure_dict(pot.params)
        if len(self.pot.heads) > len(pot.heads):  # multi-head: every head starts as its one
            params = jax.tree.map(jnp.asarray, widen_heads(params, self.template))
        return self._state_from(params)

    def _state_from(self, params: dict) -> dict:
        return dict(
            params=params,
            ema=params if self.config.ema_decay is not None else None,
            opt_state=self.optimizer.init(params),
            meta=dict(
                epoch=0,
                num_updates=0,
                schedule=Schedule.initial_state(),
                best_valid=math.inf,
                stale=0,
            ),
        )

    def weights(self, stage_two: bool) -> jnp.ndarray:
        return jnp.asarray(self.schedule.loss_weights(stage_two), self.pot.dtype)

    def validate(self, pure, weights, graphs=None) -> tuple[float, dict]:
        """The loss (mean over graphs) and the metrics of ``pure`` on ``graphs`` (default:
        the validation set)."""
        graphs = self.data.valid if graphs is None else graphs
        if not graphs:
            return float("nan"), {}
        losses, sizes = [], []

        def predict(batch):
            (loss, _), pred = self.eval_fn(pure, batch, weights)
            losses.append(float(loss))
            sizes.append(int(np.asarray(batch.graph_mask).sum()))
            return pred

        start = time.perf_counter()
        values = error_values(collect(predict, self._eval_batches(graphs)))
        # the slowest graph rate seen after the first pass (which compiles) prices the final
        # evaluation for max_time
        if self._validations_timed:
            rate = (time.perf_counter() - start) / len(graphs)
            self.eval_seconds_per_graph = max(self.eval_seconds_per_graph, rate)
        self._validations_timed += 1
        return float(np.average(losses, weights=sizes)), metrics_from(values)

    def _eval_batches(self, graphs):
        return iterate_batches(
            graphs,
            self.config.valid_batch_size,
            budgets=self.eval_budgets,
            reference_energies=self.pot.atomic_energies,
        )

    def _params(self, pure):
        params = jax.tree_util.tree_map(lambda x: x, self.pot.params)
        nnx.replace_by_pure_dict(params, pure)
        return params

    def _save(self, mgr, state, resumable: bool = True) -> None:
        """Checkpoint ``state``; without the optimiser state unless ``resumable`` (the best
        checkpoint is only evaluated, and AMSGrad's moments are 3x the parameters)."""
        weights = {"params": state["params"]}
        if state["ema"] is not None:
            weights["ema"] = state["ema"]
        train = {"opt_state": state["opt_state"]} if resumable else None
        checkpoint.save(mgr, state["meta"]["epoch"], weights, train, state["meta"])

    def restore_last(self) -> dict:
        state = self._state_from(self.template)  # the shapes to restore into
        weights = {"params": self.template}
        if state["ema"] is not None:
            weights["ema"] = self.template
        w, train, meta = checkpoint.restore(
            checkpoint.manager(self.run_dir / "checkpoints" / "last"),
            weights,
            {"opt_state": state["opt_state"]},
            adopt=True,
        )
        return dict(params=w["params"], ema=w.get("ema"), opt_state=train["opt_state"], meta=meta)

    def restore_best(self) -> dict:
        """A state to continue from the best checkpoint (``--resume --from best``): its
        weights and EMA, its epoch and schedule, a fresh optimiser state (best keeps none)."""
        weights = {"params": self.template}
        if self.config.ema_decay is not None:
            weights["ema"] = self.template
        w, _, meta = checkpoint.restore(
            checkpoint.manager(self.run_dir / "checkpoints" / "best"), weights, adopt=True
        )
        state = self._state_from(w["params"])
        state["ema"] = w.get("ema", state["ema"])
        state["meta"] = meta
        return state

    def train_epoch(self, state: dict, epoch: int) -> tuple[dict, dict]:
        """One pass over the training set (shuffled with a seed from ``(seed, epoch)``):
        the new state and the epoch's log row. Raises on a non-finite loss, before anything
        is saved."""
        c, meta = self.config, state["meta"]
        stage_two = self.schedule.is_stage_two(epoch)
        if stage_two and not self.schedule.is_stage_two(epoch - 1) and epoch > 0:
            # new loss weights: validation losses of the two stages are not comparable
            meta["best_valid"], meta["stale"] = math.inf, 0
            meta["schedule"] = Schedule.initial_state()
        weights = self.weights(stage_two)
        lr = self.schedule.learning_rate(epoch, stage_two, meta["schedule"])
        opt_state = set_learning_rate(state["opt_state"], lr)
        pure, ema = state["params"], state["ema"]
        start, losses = time.perf_counter(), []
        batches = iterate_batches(
            self.data.train,
            c.batch_size,
            seed=c.seed * 100003 + epoch,
            budgets=self.budgets,
            reference_energies=self.pot.atomic_energies,
        )
        for batch in prefetch(batches):
            pure, opt_state, ema, loss, _ = self.step_fn(
                pure, opt_state, ema, meta["num_updates"], batch, weights
            )
            losses.append(loss)  # read once per epoch: the host never waits on a step
            meta["num_updates"] += 1
        losses = np.asarray(jax.device_get(losses), dtype=np.float64)
        elapsed = time.perf_counter() - start
        if not np.all(np.isfinite(losses)):
            bad = int(np.argmin(np.isfinite(losses)))
            raise TrainingDivergedError(
                f"epoch {epoch + 1}, step {bad + 1}: the training loss is {losses[bad]}; stopped "
                f"without saving (the last good checkpoint in {self.run_dir / 'checkpoints'} "
                "is intact). Lower lr or check the data."
            )
        meta["epoch"] = epoch + 1
        row = dict(
            epoch=epoch + 1,
            lr=learning_rate(opt_state),
            train_loss=float(np.mean(losses)),
            epoch_time_s=elapsed,
            graphs_per_s=len(self.data.train) / elapsed,
        )
        return dict(params=pure, ema=ema, opt_state=opt_state, meta=meta), row

    def validate_epoch(self, state: dict) -> tuple[dict, dict | None]:
        """Validate the EMA (else current) parameters with this epoch's loss weights and
        step the scheduler: the validation fields of the log row, and on a new lowest
        validation loss the state to checkpoint as the best (else None)."""
        meta = state["meta"]
        weights = self.weights(self.schedule.is_stage_two(meta["epoch"] - 1))
        eval_params = state["ema"] if state["ema"] is not None else state["params"]
        valid_loss, m = self.validate(eval_params, weights)
        if self.data.valid and not math.isfinite(valid_loss):
            raise TrainingDivergedError(
                f"epoch {meta['epoch']}: the validation loss is {valid_loss}; stopped without "
                f"saving this epoch (the last good checkpoint in {self.run_dir / 'checkpoints'}"
                " is intact; no non-finite state is ever best). Lower lr or check the data."
            )
        meta["schedule"] = self.schedule.after_evaluation(valid_loss, meta["schedule"])
        new_best = None
        # without a validation set (its loss is NaN) the latest state counts as the best
        if not self.data.valid or valid_loss < meta["best_valid"]:
            meta["best_valid"], meta["stale"] = valid_loss, 0
            new_best = dict(state, opt_state=None, meta=copy.deepcopy(meta))
        else:
            meta["stale"] += 1
        fields = dict(
            valid_loss=valid_loss,
            valid_rmse_e_per_atom=m.get("rmse_e_per_atom"),
            valid_rmse_f=m.get("rmse_f"),
            valid_rmse_stress=m.get("rmse_stress"),
        )
        replayed = self.data.tests.get(REPLAY_TEST)
        if replayed:  # what the foundation head keeps, as mace-torch logs every head
            _, r = self.validate(eval_params, weights, replayed)
            fields.update(
                replay_rmse_e_per_atom=r.get("rmse_e_per_atom"), replay_rmse_f=r.get("rmse_f")
            )
        return fields, new_best

    def run(self, state: dict) -> dict:
        """Epochs from ``state``'s until ``max_num_epochs`` (or early stopping, or
        ``max_time``): train, validate every ``eval_interval``, log, checkpoint. SIGINT or
        SIGTERM stops it after the current epoch, checkpointed (:class:`StopRequest`), with
        :class:`~eqpot.train.interrupt.TrainingInterruptedError`."""
        c = self.config
        last = checkpoint.manager(self.run_dir / "checkpoints" / "last")
        best = checkpoint.manager(self.run_dir / "checkpoints" / "best")
        log = EpochLog(self.run_dir, state["meta"]["epoch"], tensorboard=c.tensorboard)
        started, pending_best = time.perf_counter(), None
        bar = tqdm(
            range(state["meta"]["epoch"], c.max_num_epochs),
            initial=state["meta"]["epoch"],
            total=c.max_num_epochs,
            disable=None if c.progress else True,  # None: off when not a terminal
            unit="epoch",
        )
        resume = f"eqpot train --resume {self.run_dir}"
        with StopRequest(resume=resume) as stop:  # Ctrl-C, SIGTERM: stop after the epoch
            for epoch in bar:
                state, row = self.train_epoch(state, epoch)
                final = epoch + 1 == c.max_num_epochs
                if (epoch + 1) % c.eval_interval == 0 or final:
                    fields, new_best = self.validate_epoch(state)
                    row.update(fields)
                    pending_best = new_best or pending_best
                stopping = self._stopping(state["meta"], started, row) or stop.signum is not None
                log.write(row)  # before the checkpoint: a resume drops rows the state lacks
                checkpoint.fault_point("epoch_logged")
                if (epoch + 1) % c.checkpoint_interval == 0 or stopping or final:
                    with stop.deferred():  # a second signal waits for the writes to end
                        if pending_best is not None:  # first: last's meta counts it as best
                            self._save(best, pending_best, resumable=False)
                            pending_best = None
                        checkpoint.fault_point("best_written")
                        self._save(last, state)
                        checkpoint.fault_point("last_written")
                        checkpoint.mark_completed(self.run_dir, state["meta"]["epoch"])
                self._report(row, bar)
                if stopping:
                    break
        bar.close()
        log.close()
        done = state["meta"]["epoch"]
        if stop.signum is not None and done < c.max_num_epochs:
            raise stop.error(done, self.run_dir)
        return state

    def _stopping(self, meta: dict, started: float, row: dict) -> bool:
        """Early stopping (``patience`` evaluations without a new best) or ``max_time``."""
        c = self.config
        if c.patience is not None and meta["stale"] > c.patience:
            return True
        if c.max_time is None:
            return False
        elapsed = time.perf_counter() - started
        final = self.final_evaluation_estimate()
        if elapsed + row["epoch_time_s"] + final <= c.max_time:
            return False
        append_text(
            self.run_dir,
            f"max_time {c.max_time:g} s: stopping after epoch {meta['epoch']} ({elapsed:.0f} s "
            f"trained; another epoch (~{row['epoch_time_s']:.0f} s) and the final evaluation "
            f"(~{final:.0f} s) would not fit)",
        )
        return True

    def final_evaluation_estimate(self) -> float:
        """Seconds the final evaluation will take, at the validation passes' rate per graph
        (0 before a second validation has been timed)."""
        sets = [self.data.train, self.data.valid, *self.data.tests.values()]
        return self.eval_seconds_per_graph * sum(len(graphs) for graphs in sets)

    def _report(self, row: dict, bar) -> None:
        """The epoch's line in train.log (and on stdout when no progress bar shows)."""
        rmse_f = row.get("valid_rmse_f")
        if rmse_f is not None:
            bar.set_postfix(loss=f"{row['train_loss']:.4g}", rmse_f=f"{rmse_f:.4g}")
        replay = row.get("replay_rmse_f")
        line = (
            f"epoch {row['epoch']}/{self.config.max_num_epochs} loss {row['train_loss']:.5g} "
            f"valid rmse_f {_mev(rmse_f)} meV/Å"
            + (f" replay rmse_f {_mev(replay)} meV/Å" if replay is not None else "")
            + f" ({row['epoch_time_s']:.1f} s)"
        )
        append_text(self.run_dir, line)
        if self.config.progress and bar.disable:  # not a terminal: one plain line per epoch
            print(line, flush=True)

    def final_evaluation(self, epoch: int) -> dict:
        """Metrics and parity plots of every set, with the parameters the run saved (best,
        else last; EMA when kept), read back from the checkpoint, after training ``epoch``
        epochs. A signal stops it after the current set
        (:class:`FinalEvaluationInterruptedError`, holding the finished ones)."""
        best = self.run_dir / "checkpoints" / "best"
        which = "best" if best.exists() and any(best.iterdir()) else "last"
        pure = nnx.to_pure_dict(checkpoint.load_potential(self.run_dir, which).params)
        weights = self.weights(stage_two=False)
        sets = {"train": self.data.train, "valid": self.data.valid, **self.data.tests}
        sets["train"], sets["replay train"] = split_replay(self.data)
        sets = {name: graphs for name, graphs in sets.items() if graphs}
        results = {}
        with StopRequest(after="the set being evaluated") as stop:
            for name, graphs in sets.items():
                batches = self._eval_batches(graphs)
                values = error_values(collect(lambda b: self.eval_fn(pure, b, weights)[1], batches))
                results[name] = metrics_from(values)
                title = f"{self.config.name}: {name}"
                parity_plot(values, title, self.run_dir / parity_file_name(name))
                if stop.signum is not None:
                    missing = ", ".join(n for n in sets if n not in results)
                    raise FinalEvaluationInterruptedError(
                        f"{stop.name} during the final evaluation, after epoch {epoch} "
                        f"(checkpointed): metrics.json holds {', '.join(results)}; not "
                        f"evaluated: {missing} (`eqpot eval {self.run_dir} FILES` gives them)",
                        results,
                        stop.signum,
                    )
        learning_curve_plot(
            self.run_dir / "metrics.csv", self.config.name, self.run_dir / "learning_curve.png"
        )
        return results


def has_trained(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds anything a training run produced (a checkpoint, a logged
    epoch or final metrics), as opposed to what a start that failed before finishing an
    epoch leaves (``config.yaml``, ``model.json``, ``train.log``, a header-only log)."""
    checkpoints, epochs = run_dir / "checkpoints", run_dir / "metrics.csv"
    return (
        (checkpoints.is_dir() and any(checkpoints.rglob("*")))
        or (epochs.is_file() and bool(read_rows(epochs)))
        or (run_dir / "metrics.json").exists()
    )


def restore_for_resume(trainer: Trainer) -> dict:
    """The run's last training state. When it does not fit the configuration (an override
    that reshapes the optimiser's state: ``amsgrad``, ``optimizer``, ``freeze``, or
    ``clip_grad``, ``weight_decay``, ``ema_decay`` switched on or off), a
    :class:`ConfigError` that names the keys differing from the run's ``config.yaml``.
    (A different model is caught earlier, by :func:`base_model`'s comparison with the run's
    ``model.json``.)"""
    try:
        return trainer.restore_last()
    except (ValueError, TypeError, KeyError) as err:
        if isinstance(err, checkpoint.CheckpointError) and not err.intact:
            raise  # damaged or missing files, not a configuration that does not fit
        saved_file = trainer.run_dir / "config.yaml"
        saved = load_config(saved_file) if saved_file.is_file() else None
        where = ("run_dir", "name")  # where the run lives, not what it trains
        changed = [
            c
            for c in (changed_keys(saved, trainer.config) if saved else [])
            if c.split(":")[0] not in where
        ]
        detail = "; ".join(changed) if changed else "no key differs from its config.yaml"
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(
            f"--resume {trainer.run_dir}: its saved training state does not fit this "
            f"configuration ({detail}). Keys that shape the model or the optimiser state "
            "cannot change on resume: start a new run, or fine-tune from this one with "
            f"foundation_model={trainer.run_dir}. ({type(err).__name__}: {first})"
        ) from err


def prepare_run_dir(config: TrainConfig, resume: bool) -> Path:
    """``run_dir/name``, created; a new run may not replace one that has trained."""
    run_dir = Path(config.run_dir) / config.name
    if run_dir.exists() and not resume and has_trained(run_dir):
        raise FileExistsError(
            f"run directory {run_dir} exists; pass --resume to continue it or choose another "
            "name=..."
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def fit(config: TrainConfig, resume: bool = False, log=print, resume_from: str = "last") -> Result:
    """Train ``config`` into ``run_dir/name``; ``resume`` continues an existing run from its
    ``resume_from`` checkpoint (``"last"``, or ``"best"``: its weights with a fresh
    optimiser state). The process holds the run directory's lock (:mod:`eqpot.train.lock`)
    throughout.

    ``log`` receives the run's messages, which also go to ``run_dir/name/train.log``.
    """
    if resume_from not in ("last", "best"):
        raise ConfigError(f"resume_from must be 'last' or 'best', got {resume_from!r}")
    jax.config.update("jax_enable_x64", config.dtype == "float64")
    run_dir = prepare_run_dir(config, resume)
    with RunLock(run_dir) as lock:

        def note(message: str) -> None:
            log(message)
            append_text(run_dir, message)

        if lock.previous:
            append_text(run_dir, f"took over the lock of a process that ended: {lock.previous}")
        try:
            return _fit(config, run_dir, resume, note, resume_from)
        except ResumeRefusedError:
            raise  # refused before anything ran: the run directory stays byte-identical
        except BaseException as err:  # why a run stopped (Ctrl-C included) belongs in its log
            append_text(run_dir, f"stopped: {type(err).__name__}: {err}")
            raise


def resume_state(trainer: Trainer, resume_from: str) -> dict | None:
    """The state ``--resume`` continues from, or None when the run has trained nothing yet
    (it then starts). A run that has trained but has no loadable checkpoint to continue is
    an error naming what is missing and the ways on; nothing is written before it."""
    run_dir = trainer.run_dir
    directory = run_dir / "checkpoints" / resume_from
    if _has_checkpoint(directory):
        return restore_for_resume(trainer) if resume_from == "last" else trainer.restore_best()
    if resume_from == "last" and not _checkpointed_before(trainer):
        return None  # killed before its first complete checkpoint: nothing to lose
    ways = ["start over under another name=..."]
    if resume_from == "last" and _has_checkpoint(run_dir / "checkpoints" / "best"):
        ways.insert(
            0, f"`eqpot train --resume {run_dir} --from best` continues from its best weights"
        )
    raise ResumeRefusedError(
        f"--resume {run_dir}: no complete checkpoint in {directory}, but the run has trained "
        f"({_trained_evidence(run_dir)}); resuming would start it over and overwrite that. "
        + "; or ".join(ways)
    )


def _has_checkpoint(directory: Path) -> bool:
    """Whether ``directory`` holds a complete checkpoint (orbax's manager lists only
    renamed steps, and removes the temporaries of an interrupted write)."""
    return directory.is_dir() and checkpoint.manager(directory).latest_step() is not None


def _checkpointed_before(trainer: Trainer) -> bool:
    """Whether the run ever completed a checkpoint (runs from before ``completed.json``:
    a finished evaluation, or a best checkpoint past the first checkpoint epoch)."""
    run_dir = trainer.run_dir
    if checkpoint.completed_epoch(run_dir) is not None or (run_dir / "metrics.json").exists():
        return True
    steps = [int(p.name) for p in (run_dir / "checkpoints" / "best").glob("[0-9]*")]
    return any(step > trainer.config.checkpoint_interval for step in steps)


def _trained_evidence(run_dir: Path) -> str:
    rows = read_rows(run_dir / "metrics.csv") if (run_dir / "metrics.csv").is_file() else []
    found = [f"{len(rows)} epochs in metrics.csv"] if rows else []
    for which in ("best", "last"):
        steps = sorted(p.name for p in (run_dir / "checkpoints" / which).glob("[0-9]*"))
        if steps:
            found.append(f"checkpoints/{which}/{steps[-1]}")
    return ", ".join(found) or "metrics.json"


def _fit(config: TrainConfig, run_dir: Path, resume: bool, log, resume_from: str) -> Result:
    base = base_model(config, run_dir, resume)
    if config.multihead_finetuning and base is not None and base.foundation is not None:
        # config.yaml names the replay data itself: a resume needs no foundation
        config = dataclasses.replace(config, replay_file=replay_file(config, base.foundation))
    data = prepare(config, base)
    trainer = Trainer(config, run_dir, data, base)
    restored = resume_state(trainer, resume_from) if resume else None
    state = restored if restored is not None else trainer.initial()
    # written once the configuration has proved to fit the run's state: an override that
    # does not fit fails above and leaves the run resumable as it was
    save_config(config, run_dir / "config.yaml")
    checkpoint.write_model_file(run_dir, trainer.record)
    log(trainer.pot.summary())
    replayed = len(split_replay(data)[1])
    replay = f" ({replayed} replayed on the foundation head)" if replayed else ""
    log(
        f"{len(data.train)} training{replay}, {len(data.valid)} validation graphs; "
        f"buckets {[(b.n_node, b.n_edge) for b in trainer.budgets]}"
    )
    if restored is not None:
        log(f"resuming {run_dir} after epoch {state['meta']['epoch']} (from {resume_from})")
    state = trainer.run(state)
    try:
        metrics = trainer.final_evaluation(state["meta"]["epoch"])
    except FinalEvaluationInterruptedError as stopped:
        write_json(run_dir / "metrics.json", stopped.results)
        raise
    write_json(run_dir / "metrics.json", metrics)
    log(format_table(metrics))
    return Result(run_dir, metrics, state["meta"]["epoch"])
