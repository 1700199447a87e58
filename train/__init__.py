"""Training (installed as ``eqpot.train``): trainer, losses, schedules, EMA, checkpoints
and the shipped recipes. Built in issue #5; empty until then."""
