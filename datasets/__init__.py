"""Atomistic datasets (installed as ``eqpot.datasets``): readers, the named-dataset
registry, synthetic EMT data and statistics. Built in issue #3; empty until then."""
