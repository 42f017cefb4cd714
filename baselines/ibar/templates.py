"""IBAR's instructions: Audit-style templates for the two restoration tasks.

AUDIT (Wang et al., "AUDIT: Audio Editing by Following Instructions with Latent Diffusion
Models", 2023) gives each editing task a short imperative instruction ("Inpaint", "Perform
super-resolution", ...). The A2SB paper says IBAR uses "the instruction templates for up-sampling
and inpainting from Audit" without listing them; ours are a few paraphrases in that style, written
for this project. During training one template of the item's task is drawn at random; at
inference the task's first (canonical) template is used.

Parsing is exact up to case, surrounding white space, repeated inner white space and a final
full stop: every template parses back to its task, anything else is an error.
"""

from __future__ import annotations

import numpy as np

from ..interface import BaselineError

#: task -> its instruction templates; the first is the canonical one used at inference.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "bandwidth-extension": (
        "Perform super-resolution",
        "Increase the resolution of the audio",
        "Increase resolution",
        "Perform bandwidth extension",
        "Upsample the audio",
    ),
    "inpainting": (
        "Inpaint",
        "Fill in the missing part of the audio",
        "Inpaint the missing segment",
        "Fill in the gap",
        "Restore the missing audio",
    ),
}

#: Every template in a fixed order (the rows of the byT5 embedding table).
ALL_TEMPLATES: tuple[str, ...] = tuple(t for task in TEMPLATES for t in TEMPLATES[task])


def _normal(text: str) -> str:
    return " ".join(text.split()).rstrip(".").strip().lower()


_TASK_OF: dict[str, str] = {_normal(t): task for task, ts in TEMPLATES.items() for t in ts}


def canonical(task: str) -> str:
    """The fixed instruction of ``task`` used at inference."""
    if task not in TEMPLATES:
        raise BaselineError(f"IBAR has no instructions for task {task!r}")
    return TEMPLATES[task][0]


def random_instruction(task: str, rng: np.random.Generator) -> str:
    """One of ``task``'s templates, drawn uniformly with ``rng``."""
    if task not in TEMPLATES:
        raise BaselineError(f"IBAR has no instructions for task {task!r}")
    options = TEMPLATES[task]
    return options[int(rng.integers(len(options)))]


def parse_instruction(text: str) -> str:
    """The task an instruction asks for; :class:`BaselineError` for text that is no template."""
    task = _TASK_OF.get(_normal(text))
    if task is None:
        raise BaselineError(f"unknown IBAR instruction {text!r}")
    return task


def template_index(text: str) -> int:
    """Row of ``text`` (a template, normalised as by :func:`parse_instruction`) in ALL_TEMPLATES."""
    key = _normal(text)
    for i, template in enumerate(ALL_TEMPLATES):
        if _normal(template) == key:
            return i
    raise BaselineError(f"unknown IBAR instruction {text!r}")
