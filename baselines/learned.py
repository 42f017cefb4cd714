"""The learned baselines: one subpackage each, found by name, behind one protocol.

A learned-baseline module (``baselines.<name>``) exposes:

- ``TASKS``: the tasks it restores, a subset of :data:`baselines.interface.TASKS` (empty for a
  component such as the mel vocoder, which is trained but restores nothing by itself);
- ``train(config: dict, out_dir: Path, *, manifests: list[str], threads: int | None,
  source: str) -> dict``: trains from the CSV manifests into ``out_dir`` and writes
  ``out_dir/final.safetensors`` with its JSON sidecar ``out_dir/final.json`` (config, config hash,
  manifest hashes, seed, git commit, package versions), atomically; returns a summary mapping.
  ``source`` names the config file in error messages;
- ``load(checkpoint: Path, options: dict) -> Restorer``: a restorer from a trained checkpoint.
  ``options`` carries the sampling overrides given on the command line (``steps``, ``seed``,
  ``vocoder``, ``weights``); unknown or missing ones take the checkpoint's configured values.

Modules are imported only when used, so a method's heavy dependencies cost nothing to the others.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .interface import BaselineError

#: name -> module path of every learned baseline (and shared learned component).
MODULES: dict[str, str] = {
    "cqtdiff": "baselines.cqtdiff",
    "audiosr": "baselines.audiosr",
    "vocoder": "baselines.vocoder",
    "maid": "baselines.maid",
    "ibar": "baselines.ibar",
}

#: name -> tasks it restores (the modules' ``TASKS``; read here without importing torch, e.g. by
#: the workflow when it builds the DAG).
TASKS_OF: dict[str, tuple[str, ...]] = {
    "cqtdiff": ("bandwidth-extension", "inpainting"),
    "audiosr": ("bandwidth-extension",),
    "vocoder": (),
    "maid": ("inpainting",),
    "ibar": ("bandwidth-extension", "inpainting"),
}


def module_of(name: str) -> ModuleType:
    """The module of learned baseline ``name``; a :class:`BaselineError` when unknown or absent."""
    if name not in MODULES:
        raise BaselineError(f"unknown learned baseline {name!r} (known: {', '.join(MODULES)})")
    try:
        return importlib.import_module(MODULES[name])
    except ModuleNotFoundError as exc:
        if exc.name and MODULES[name].startswith(exc.name):
            raise BaselineError(f"baseline {name!r} is not built in this checkout") from None
        raise
