"""Licence classifier: maps the licence strings found in dataset metadata to a class.

Classes: ``permissive`` (kept: CC0, the Public Domain Mark, other public-domain statements,
CC BY of any version or jurisdiction, and a few permissive non-CC licences), ``NC``, ``ND``,
``SA`` (dropped: non-commercial, no-derivatives, share-alike/copyleft; a string with several
restrictions gets the first of NC, ND, SA and the reason names all), ``unknown`` (empty, NaN,
``unknown``, unrecognised text) and ``other`` (recognised but not a permissive public licence:
CC Sampling+ unless allowed, legacy Sampling, FMA Sound Recording Common Law, Free Music
Philosophy, FMA-Limited, all rights reserved, an unrecognised CC code).

Rules (after ``shared/DATASETS.md`` section 5):

1. A creativecommons.org URL (http, https, ``//`` or no scheme) wins over the surrounding text:
   its code after ``/licenses/`` or ``/publicdomain/`` is read; version, jurisdiction port,
   ``deed.*`` and ``legalcode`` are ignored.
2. Otherwise the text is normalised (lower case, separators to spaces, "creative commons" and
   "licence"/"license" dropped) and flagged: NC (non-commercial, ``nc``), ND (no derivative(s), noderivs,
   ``nd``), SA (share alike, ``sa``, Free Art License, GPL, ODbL); "(aka Music Sharing)" is
   FMA's alias of BY-NC-ND.
3. CC Sampling+ (retired; restricts whole-work commercial copying) is ``other`` unless
   ``allow_sampling_plus=True`` (a config switch); NC-Sampling+ is always NC.

The project spells the noun "licence"; the spelling "license" survives only in external data:
the manifest and ``kept.csv`` columns ``license`` and ``license_class``, the registry's
``license`` keys, the datasets' own metadata files and SPDX ids.
"""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple

PERMISSIVE, NC, ND, SA, UNKNOWN, OTHER = "permissive", "NC", "ND", "SA", "unknown", "other"
CLASSES = (PERMISSIVE, NC, ND, SA, UNKNOWN, OTHER)
KEPT_CLASSES = frozenset({PERMISSIVE})

_EMPTY = {
    "",
    "<na>",
    "unknown",
    "none",
    "null",
    "nan",
    "n/a",
    "na",
    "-",
    "?",
    "not specified",
    "unspecified",
}
_CC_URL = re.compile(
    r"(?:https?:)?(?://)?(?:www\.)?creativecommons\.org/(licenses|publicdomain)/([a-z0-9+\-]+)?",
    re.IGNORECASE,
)


class LicenceVerdict(NamedTuple):
    """``(licence_class, reason)``: unpacks like a pair."""

    licence_class: str
    reason: str


def _restricted(flags: list[str], what: str) -> LicenceVerdict:
    names = {NC: "non-commercial", ND: "no-derivatives", SA: "share-alike"}
    return LicenceVerdict(flags[0], f"{what}: " + ", ".join(names[f] for f in flags))


def _flags(nc: bool, nd: bool, sa: bool) -> list[str]:
    return [f for f, on in ((NC, nc), (ND, nd), (SA, sa)) if on]


def _sampling(plus: bool, nc: bool, allow_sampling_plus: bool, what: str) -> LicenceVerdict:
    if nc:
        return LicenceVerdict(NC, f"{what}: NC-Sampling+ (non-commercial)")
    if not plus:
        return LicenceVerdict(
            OTHER, f"{what}: CC Sampling 1.0 (legacy; forbids copying the whole work)"
        )
    if allow_sampling_plus:
        return LicenceVerdict(
            PERMISSIVE, f"{what}: CC Sampling+ 1.0, kept because allow_sampling_plus is on"
        )
    return LicenceVerdict(
        OTHER,
        f"{what}: CC Sampling+ 1.0 (restricts commercial whole-work use; rejected by default, switch allow_sampling_plus)",
    )


def _from_cc_url(kind: str, code: str | None, allow_sampling_plus: bool) -> LicenceVerdict:
    code = (code or "").lower()
    if kind == "publicdomain":
        if code == "zero":
            return LicenceVerdict(PERMISSIVE, "CC0 public domain dedication (URL)")
        if code == "mark":
            return LicenceVerdict(PERMISSIVE, "Public Domain Mark (URL)")
        return LicenceVerdict(UNKNOWN, f"unrecognised creativecommons.org/publicdomain/{code} URL")
    if code == "publicdomain":
        return LicenceVerdict(PERMISSIVE, "CC public domain dedication/certification (legacy URL)")
    tokens = code.split("-")
    if "sampling+" in tokens or "sampling" in tokens:
        return _sampling(
            "sampling+" in tokens, "nc" in tokens, allow_sampling_plus, f"CC URL code {code!r}"
        )
    known = {"by", "nc", "nd", "sa"}
    if not code or not set(tokens) <= known:
        return LicenceVerdict(OTHER, f"unrecognised CC URL code {code!r}")
    flags = _flags("nc" in tokens, "nd" in tokens, "sa" in tokens)
    if flags:
        return _restricted(flags, f"CC {code.upper()} (URL)")
    return LicenceVerdict(PERMISSIVE, "CC BY (URL; any version or jurisdiction)")


def _normalise(text: str) -> str:
    t = text.lower().replace("\u2011", "-").replace("\u2013", "-")
    t = re.sub(r"[\-_/,;:()\[\]{}'\"|]+", " ", t)
    t = re.sub(r"\bcreative\s+commons\b", " ", t)
    t = re.sub(r"\blicen[cs]e[ds]?\b", " ", t)
    return re.sub(r"\s+", " ", t).strip()


def classify(text: Any, *, allow_sampling_plus: bool = False) -> LicenceVerdict:
    """Classify a licence string (or None/NaN); returns ``(licence_class, reason)``."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return LicenceVerdict(UNKNOWN, "no licence given (empty/NaN)")
    raw = str(text).strip()
    if raw.lower() in _EMPTY:
        return LicenceVerdict(
            UNKNOWN, f"no licence given ({raw!r})" if raw else "no licence given (empty)"
        )
    m = _CC_URL.search(raw)
    if m:
        return _from_cc_url(m.group(1).lower(), m.group(2), allow_sampling_plus)
    t = _normalise(raw)
    if not t:
        return LicenceVerdict(UNKNOWN, f"no licence given ({raw!r})")
    nc = bool(re.search(r"\bnon ?commercial\b|\bnc\b", t))
    nd = bool(re.search(r"\bno ?deriv\w*|\bnd\b", t))
    sa = bool(re.search(r"\bshare ?alike\b|\bsa\b", t))
    if "aka music sharing" in t:
        nc = nd = True
    # Non-CC texts first: they must not be mistaken for BY ("by" also appears in prose).
    if re.search(r"\bfma limited\b", t):
        return LicenceVerdict(OTHER, "FMA-Limited: download only (not a public licence)")
    if "sound recording common law" in t:
        return LicenceVerdict(OTHER, "FMA Sound Recording Common Law (not a public licence)")
    if "free music philosophy" in t or re.search(r"\bfmp\b", t):
        return LicenceVerdict(OTHER, "Free Music Philosophy (not a public licence)")
    if re.search(r"\bfree art\b|\blicence art libre\b|\bart libre\b", t):
        return LicenceVerdict(SA, "Free Art License (copyleft, treated as share-alike)")
    if re.search(r"sampling ?\+|sampling plus", t):
        return _sampling(True, nc, allow_sampling_plus, "text")
    if re.search(r"\bsampling\b", t):
        return _sampling(False, nc, allow_sampling_plus, "text")
    if re.search(
        r"\bcc ?0\b|\bcc zero\b|\bzero 1 ?\.? ?0 universal\b|\bpublic domain dedication\b", t
    ):
        return LicenceVerdict(PERMISSIVE, "CC0 public domain dedication")
    if re.search(r"\bpublic domain mark\b|\bpdm\b", t):
        return LicenceVerdict(PERMISSIVE, "Public Domain Mark")
    if re.search(r"\bpublic domain\b", t):
        return LicenceVerdict(PERMISSIVE, "public-domain statement")
    if re.search(r"\ball rights reserved\b|\bcopyright\b|©", t):
        return LicenceVerdict(OTHER, "all rights reserved / copyright notice")
    if re.search(r"\b(a?gpl|lgpl|gnu general public|copyleft)\b", t):
        return LicenceVerdict(SA, "GPL-style copyleft (treated as share-alike)")
    if re.search(r"\bodbl\b|\bopen database\b", t):
        return LicenceVerdict(SA, "ODbL (share-alike)")
    is_by = bool(re.search(r"\battribution\b|\bcc ?by\b|^by\b", t))
    flags = _flags(nc, nd, sa)
    if flags and (is_by or re.search(r"\bcc\b", t) or raw.lower().startswith("creative commons")):
        return _restricted(flags, f"CC {'BY-' if is_by else ''}{'-'.join(flags)}")
    if flags and re.search(r"\b(non ?commercial|no ?deriv\w*|share ?alike)\b", t):
        return _restricted(flags, "licence text")
    if is_by:
        return LicenceVerdict(PERMISSIVE, "CC BY (any version or jurisdiction)")
    if re.search(r"\bodc ?by\b|\bmit\b|\bapache\b|\bbsd\b|\bisc\b|\bunlicense\b", t):
        return LicenceVerdict(PERMISSIVE, "permissive non-CC licence (MIT/Apache/BSD/ODC-By style)")
    return LicenceVerdict(UNKNOWN, f"unrecognised licence text {raw[:80]!r}")


def is_kept(licence_class: str) -> bool:
    """Whether a class enters the permissive training set."""
    return licence_class in KEPT_CLASSES
