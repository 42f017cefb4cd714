"""``python -m a2sb`` (also what ``torchrun -m a2sb train`` runs)."""

from .cli import run

run()
