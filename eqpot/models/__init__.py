"""Interatomic potentials on :mod:`eqpot.tp`: MACE, eSCN and TensorNet (Flax NNX).

``build(name, num_elements=..., **hyperparameters)`` makes a model; :class:`Potential` wraps
any of them with energy, forces, stress, virials and Hessians.
"""

from __future__ import annotations

from flax import nnx

from eqpot.models.escn import ESCN, ESCNConfig
from eqpot.models.mace import MACE, MACEConfig
from eqpot.models.potential import Potential
from eqpot.models.predict import Predictions, hessian, predict
from eqpot.models.tensornet import TensorNet, TensorNetConfig

MODELS = {
    "escn": (ESCN, ESCNConfig),
    "mace": (MACE, MACEConfig),
    "tensornet": (TensorNet, TensorNetConfig),
}


def build(name: str, *, seed: int = 0, atomic_energies=None, scale=1.0, shift=0.0, **config):
    """Build model ``name`` from hyperparameters (unknown names are errors)."""
    import dataclasses

    from eqpot.suggest import did_you_mean

    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    cls, config_cls = MODELS[name]
    fields = {f.name for f in dataclasses.fields(config_cls)}
    for key in config:
        if key not in fields:
            hint = did_you_mean(key, fields)
            raise ValueError(f"{name}: unknown hyperparameter {key!r}{hint}")
    for key in ("radial_MLP",):
        if key in config:
            config[key] = tuple(config[key])
    return cls(
        config_cls(**config),
        atomic_energies=atomic_energies,
        scale=scale,
        shift=shift,
        rngs=nnx.Rngs(seed),
    )


__all__ = [
    "ESCN",
    "MACE",
    "MODELS",
    "ESCNConfig",
    "MACEConfig",
    "Potential",
    "Predictions",
    "build",
    "hessian",
    "predict",
]
