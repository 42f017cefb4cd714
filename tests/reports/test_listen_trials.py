"""The listening test's trial list (reports/listen/trials.py): grouping, seeded orders, each
rater's plan, and the one-line errors on a bad stimuli list."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from a2sb.errors import InputError
from reports.listen import trials
from tests.reports.listen_synth import EXCERPTS, METHODS, make_stimuli

THREE = (*EXCERPTS, ("bandwidth_extension", "CCMixter", "1"))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    make_stimuli(tmp_path, excerpts=THREE, seconds=0.1)
    return tmp_path


def methods_of(folder: Path) -> dict[str, str]:
    return {r["stimulus"]: r["method"] for r in trials.read_stimuli(folder / "stimuli.csv")}


def test_one_trial_per_excerpt_with_every_method(folder: Path) -> None:
    data = trials.build(folder / "stimuli.csv", seed=1)
    rows = {r["stimulus"]: r for r in trials.read_stimuli(folder / "stimuli.csv")}
    assert len(data["trials"]) == len(THREE)
    named = [s for t in data["trials"] for s in t["stimuli"]]
    assert sorted(named) == sorted(rows)  # every stimulus exactly once
    for t in data["trials"]:
        keys = {tuple(rows[s][c] for c in trials.GROUP_BY) for s in t["stimuli"]}
        assert len(keys) == 1 and sorted(rows[s]["method"] for s in t["stimuli"]) == sorted(METHODS)
    assert data["training"] == data["trials"][0]["id"]


def test_seeded_order(folder: Path) -> None:
    a, b = (trials.build(folder / "stimuli.csv", seed=s) for s in (1, 1))
    assert a == b
    orders = {json.dumps(trials.build(folder / "stimuli.csv", seed=s)["trials"]) for s in range(6)}
    assert len(orders) > 1


def test_rater_plans_mos(folder: Path) -> None:
    data = trials.build(folder / "stimuli.csv", seed=0)
    methods = methods_of(folder)
    plan = trials.plan(data, methods, "r01", "mos")
    assert plan == trials.plan(data, methods, "r01", "mos")  # a returning rater: same order
    assert len(plan) == len(THREE) + 1
    assert [p.repeat for p in plan] == [False] * len(THREE) + [True]
    assert plan[-1].excerpt == plan[0].excerpt
    assert sorted(i.key for i in plan[-1].items) == sorted(i.key for i in plan[0].items)
    assert all(i.role == "test" for p in plan for i in p.items) and plan[0].reference is None
    others = {tuple(i.key for i in trials.plan(data, methods, f"r{n}", "mos")[0].items)
              for n in range(8)}  # fmt: skip
    assert len(others) > 1  # raters hear different orders
    short = trials.plan(data, methods, "r01", "mos", per_rater=2)
    assert [p.excerpt for p in short] == [p.excerpt for p in plan[:2]] + [plan[0].excerpt]


def test_rater_plans_mushra(folder: Path) -> None:
    data = trials.build(folder / "stimuli.csv", seed=0)
    methods = methods_of(folder)
    plan = trials.plan(data, methods, "r01", "mushra")
    assert len(plan) == len(THREE) and not any(p.repeat for p in plan)  # no repeat in MUSHRA
    for p in plan:
        roles = sorted(i.role for i in p.items)
        assert roles == ["anchor", "hidden_reference"] + ["test"] * (len(METHODS) - 1)
        hidden = next(i for i in p.items if i.role == "hidden_reference")
        anchor = next(i for i in p.items if i.role == "anchor")
        assert methods[hidden.key] == "reference" == methods[p.reference]
        assert anchor.key == trials.ANCHOR_PREFIX + p.reference and anchor.source == p.reference
    no_ref = {s: m for s, m in methods.items() if m != "reference"}
    with pytest.raises(InputError, match="MUSHRA needs one"):
        trials.plan(data, no_ref, "r01", "mushra")


def write_rows(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rows: rows[1].update(stimulus="../secret.wav"), r"line 3: .*not a \.wav file name"),
        (lambda rows: rows[2].update(stimulus=rows[0]["stimulus"]), "line 4: .*listed twice"),
        (lambda rows: rows[0].update(method=""), "line 2: empty method"),
        (lambda rows: rows[1].update(method=rows[0]["method"]), "two stimuli of method reference"),
    ],
)
def test_bad_stimuli_lists(folder: Path, change, message: str) -> None:
    path = folder / "stimuli.csv"
    rows = list(csv.DictReader(open(path, newline="")))
    change(rows)
    write_rows(path, rows)
    with pytest.raises(InputError, match=message) as err:
        trials.build(path, seed=0)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_missing_and_columnless_stimuli_lists(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="stimuli.csv: cannot read the stimuli list"):
        trials.read_stimuli(tmp_path / "stimuli.csv")
    (tmp_path / "stimuli.csv").write_text("stimulus,rater,score\ns1.wav,a,3\n")
    with pytest.raises(InputError, match="not a stimuli list"):
        trials.read_stimuli(tmp_path / "stimuli.csv")


def test_load_refuses_a_stale_list(folder: Path) -> None:
    with pytest.raises(InputError, match="no trial list; write it with"):
        trials.load(folder / "trials.json", folder / "stimuli.csv")
    trials.write(folder / "stimuli.csv", 0, folder / "trials.json")
    assert trials.load(folder / "trials.json", folder / "stimuli.csv")["seed"] == 0
    with open(folder / "stimuli.csv", "a") as f:  # the stimuli were drawn again
        f.write("s09999.wav,inpainting,AAM,,reference,x.wav,9,0,1\n")
    with pytest.raises(InputError, match="built from another stimuli.csv"):
        trials.load(folder / "trials.json", folder / "stimuli.csv")
    (folder / "trials.json").write_text("{}")
    with pytest.raises(InputError, match="trials.json: not a trial list"):
        trials.load(folder / "trials.json", folder / "stimuli.csv")
