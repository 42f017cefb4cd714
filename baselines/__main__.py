"""``python -m baselines``: see :mod:`baselines.cli`."""

from .cli import run

run()
