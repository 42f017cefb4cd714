"""``python -m baselines``: see :mod:`baselines.cli`."""

import sys

from .cli import main

sys.exit(main())
