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
    check_counts(name, config)
    return cls(
        config_cls(**config),
        atomic_energies=atomic_energies,
        scale=scale,
        shift=shift,
        rngs=nnx.Rngs(seed),
    )


# integer hyperparameters that may be 0 (degrees: 0 means scalars only); every other one
# counts something (channels, layers, basis functions) and must be at least 1
DEGREES = ("max_ell", "max_L", "lmax", "mmax")


def check_counts(name: str, config: dict) -> None:
    """Raise ValueError for an integer hyperparameter of model ``name`` below its least
    value (see :data:`DEGREES`)."""
    for key, value in config.items():
        values = value if key == "radial_MLP" else (value,)
        lowest = 0 if key in DEGREES else 1
        for v in values:
            if isinstance(v, int) and not isinstance(v, bool) and v < lowest:
                raise ValueError(f"{name}: {key} must be >= {lowest}, got {value!r}")


__all__ = [
    "ESCN",
    "MACE",
    "MODELS",
    "ESCNConfig",
    "MACEConfig",
    "Potential",
    "Predictions",
    "build",
    "check_counts",
    "hessian",
    "predict",
]
