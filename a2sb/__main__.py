"""``python -m a2sb`` (also what ``torchrun -m a2sb train`` runs)."""

import sys

from .cli import main

sys.exit(main())
