"""Neural-network layers: radial bases and the symmetric contraction (functional core).

Flax NNX modules that own the parameters of these functions come with the models.
"""

from eqpot.nn.radial import bessel_basis, polynomial_envelope, radial_embedding
from eqpot.nn.symmetric_contraction import SymmetricContractionSpec, symmetric_contraction

__all__ = [
    "SymmetricContractionSpec",
    "bessel_basis",
    "polynomial_envelope",
    "radial_embedding",
    "symmetric_contraction",
]
