"""eqpot: E(3)-equivariant machine-learning interatomic potentials in JAX."""

__version__ = "0.1.0.dev0"
