"""Licence classifier: a table of real strings from FMA, MTG-Jamendo, Freesound/LAION, FSD50K,
Hugging Face/SPDX and Kaggle metadata (shared/DATASETS.md sections 1, 2 and 5)."""

from __future__ import annotations

import math

import pytest

from a2sb.data.cli import main
from a2sb.data.licences import CLASSES, classify, is_kept

P, NC, ND, SA, U, OT = "permissive", "NC", "ND", "SA", "unknown", "other"

TABLE = [
    # FMA license_title: top-10 values of the official outputs notebook
    ("Attribution-Noncommercial-Share Alike 3.0 United States", NC),
    ("Attribution-NonCommercial-NoDerivatives (aka Music Sharing) 3.0 International", NC),
    ("Attribution-NonCommercial-ShareAlike 3.0 International", NC),
    ("Creative Commons Attribution-NonCommercial-NoDerivatives 4.0", NC),
    ("Attribution-Noncommercial-No Derivative Works 3.0 United States", NC),
    ("Attribution-NonCommercial-ShareAlike", NC),
    ("Attribution", P),
    ("Attribution-NonCommercial 3.0 International", NC),
    ("Attribution-NonCommercial", NC),
    ("Attribution-ShareAlike", SA),
    # FMA values seen in third-party code
    ("Attribution 3.0 United States", P),
    ("Attribution 3.0 International", P),
    ("Attribution 4.0 International", P),
    ("Attribution-Share Alike 3.0 United States", SA),
    ("Attribution-ShareAlike 3.0 International", SA),
    ("Attribution-NoDerivatives 3.0 International", ND),
    ("Attribution-NoDerivatives 4.0 International", ND),
    ("Attribution-Noncommercial 3.0 United States", NC),
    ("Attribution-Noncommercial-No Derivative Works 3.0 Germany", NC),
    ("Attribution-NoDerivs 2.5 Canada", ND),
    ("CC0 1.0 Universal", P),
    ("Public Domain Mark 1.0", P),
    ("FMA Sound Recording Common Law", OT),
    ("Free Art License", SA),
    ("Free Music Philosophy (FMP)", OT),
    ("FMA-Limited: Download Only", OT),
    ("Sampling+", OT),
    ("NC-Sampling+", NC),
    # normalised labels of the HF free-music-archive re-packs
    ("CC-BY 1.0", P),
    ("CC-BY 2.5", P),
    ("CC-BY-NC 2.1", NC),
    ("CC-BY-NC-ND 2.0", NC),
    ("CC-BY-NC-SA 4.0", NC),
    ("CC-BY-ND 2.5", ND),
    ("CC-BY-SA 2.0", SA),
    ("CC-NC-Sampling+ 1.0", NC),
    ("CC-Sampling+ 1.0", OT),
    ("CC0 1.0", P),
    # Freesound / LAION CLAP_freesound license column (URLs)
    ("http://creativecommons.org/publicdomain/zero/1.0/", P),
    ("https://creativecommons.org/licenses/by/4.0/", P),
    ("http://creativecommons.org/licenses/by/3.0/", P),
    ("http://creativecommons.org/licenses/by-nc/3.0/", NC),
    ("https://creativecommons.org/licenses/by-nc/4.0/", NC),
    ("http://creativecommons.org/licenses/sampling+/1.0/", OT),
    # MTG-Jamendo audio_licenses.txt sentences and URL forms
    (
        "Available under a Creative Commons Attribution license: http://creativecommons.org/licenses/by/3.0/",
        P,
    ),
    (
        "Available under a Creative Commons Attribution-NonCommercial-ShareAlike license: http://creativecommons.org/licenses/by-nc-sa/3.0/",
        NC,
    ),
    (
        "Available under a Creative Commons Attribution-NoDerivatives license: http://creativecommons.org/licenses/by-nd/3.0/",
        ND,
    ),
    (
        "Available under a Creative Commons Attribution-ShareAlike license: http://creativecommons.org/licenses/by-sa/3.0/",
        SA,
    ),
    ("http://creativecommons.org/licenses/by-nc-sa/2.0/fr/", NC),
    ("http://creativecommons.org/licenses/by-nc-nd/2.5/", NC),
    ("//creativecommons.org/licenses/by-nc-sa/3.0/", NC),
    ("https://creativecommons.org/licenses/by/2.0/de/deed.en", P),
    ("creativecommons.org/licenses/by/4.0", P),
    ("https://creativecommons.org/licenses/by-sa/4.0/legalcode", SA),
    ("http://creativecommons.org/publicdomain/mark/1.0/", P),
    # legacy CC 1.0 codes
    ("http://creativecommons.org/licenses/by-nd-nc/1.0/", NC),
    ("http://creativecommons.org/licenses/nc/1.0/", NC),
    ("http://creativecommons.org/licenses/nd/1.0/", ND),
    ("http://creativecommons.org/licenses/sa/1.0/", SA),
    ("http://creativecommons.org/licenses/nc-sampling+/1.0/", NC),
    ("http://creativecommons.org/licenses/sampling/1.0/", OT),
    # SPDX / Hugging Face ids and short names
    ("cc0-1.0", P),
    ("cc-by-4.0", P),
    ("cc-by-sa-4.0", SA),
    ("cc-by-nc-4.0", NC),
    ("cc-by-nc-sa-4.0", NC),
    ("cc-by-nc-nd-4.0", NC),
    ("CC BY-NC-SA 4.0", NC),
    ("CC-BY-NC-ND 3.0", NC),
    ("CC BY 4.0", P),
    ("Creative Commons Attribution 4.0 International", P),
    ("Creative Commons Attribution 4.0 International.", P),
    # Kaggle licenseName values and other dataset cards
    ("CC0: Public Domain", P),
    ("Attribution 4.0 International (CC BY 4.0)", P),
    ("ODbL-1.0", SA),
    ("GPL-2.0", SA),
    ("Apache 2.0", P),
    ("MIT", P),
    ("All Rights Reserved", OT),
    ("USA Public Domain", P),
    # empty / unknown forms
    ("", U),
    ("unknown", U),
    ("None", U),
    ("NaN", U),
    ("   ", U),
    ("Creative Commons 3.0", U),
    ("some bespoke terms", U),
]


def test_table_has_at_least_50_real_strings():
    assert len(TABLE) >= 50 and len({t for t, _ in TABLE}) == len(TABLE)


@pytest.mark.parametrize(("text", "expected"), TABLE, ids=[t[:40] or "<empty>" for t, _ in TABLE])
def test_classify_table(text, expected):
    cls, reason = classify(text)
    assert cls == expected, f"{text!r}: {cls} ({reason})"
    assert cls in CLASSES and reason and "\n" not in reason


@pytest.mark.parametrize("value", [None, float("nan"), math.nan])
def test_missing_values_are_unknown(value):
    assert classify(value).licence_class == U


def test_multiple_restrictions_are_all_named():
    cls, reason = classify("Attribution-NonCommercial-NoDerivatives 4.0 International")
    assert cls == NC and "non-commercial" in reason and "no-derivatives" in reason


def test_sampling_plus_is_a_switch():
    url = "http://creativecommons.org/licenses/sampling+/1.0/"
    assert classify(url).licence_class == OT
    assert classify(url, allow_sampling_plus=True).licence_class == P
    assert classify("NC-Sampling+", allow_sampling_plus=True).licence_class == NC
    assert (
        classify(
            "http://creativecommons.org/licenses/sampling/1.0/", allow_sampling_plus=True
        ).licence_class
        == OT
    )


def test_only_permissive_is_kept():
    assert is_kept(P) and not any(is_kept(c) for c in (NC, ND, SA, U, OT))


def test_cli_licence(capsys):
    assert (
        main(
            [
                "data",
                "licence",
                "Attribution-Noncommercial-Share",
                "Alike",
                "3.0",
                "United",
                "States",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out.strip()
    assert out.startswith("NC\t") and "share-alike" in out
    # "license" stays an alias of the command
    assert main(["data", "license", "--json", "CC0 1.0 Universal"]) == 0
    assert '"class": "permissive"' in capsys.readouterr().out
