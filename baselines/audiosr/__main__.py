"""``python -m baselines.audiosr setup-env --prefix DIR``: see :mod:`baselines.audiosr.env`."""

import sys

from .env import main

sys.exit(main())
