"""Report builders on small synthetic CSVs: not-run cells, Kendall tau, formats, provenance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # reports/ is a folder of scripts, not an installed package

from a2sb.io.atomic import write_text  # noqa: E402
from reports import figures, human_eval, runtime, tables  # noqa: E402
from reports.provenance import checkpoint_hashes, find_seeds  # noqa: E402

PAPER = ROOT / "reports" / "reference" / "paper_results.csv"


def summary_rows(values: dict[str, dict[str, float]]) -> pd.DataFrame:
    """``{method: {metric: value}}`` on AAM bandwidth extension, all three cutoffs."""
    rows = []
    for method, metrics in values.items():
        for setting in ("4kHz", "8kHz", "12kHz"):
            for metric, value in metrics.items():
                rows.append({"task": "bandwidth_extension", "dataset": "AAM", "setting": setting,
                             "method": method, "metric": metric, "mean": value, "n": 2})  # fmt: skip
    return pd.DataFrame(rows)


def test_table_cells_not_run_and_paper_values() -> None:
    summary = summary_rows({"degraded": {"lsd": 3.0, "sispec": 1.0, "visqol": 2.0},
                            "a2sb_p1": {"lsd": 1.5, "sispec": 9.0, "visqol": 3.0}})  # fmt: skip
    table, agreement = tables.build_table(2, summary, pd.read_csv(PAPER))
    assert table.loc["A2SB (no partitioning)", "4kHz LSD"].startswith("1.500 (")
    assert table.loc["Degraded input (ours)", "4kHz LSD"] == "3.000 (-)"
    assert table.loc["AudioSR", "4kHz LSD"] == "not run (2.220)"
    assert table.loc["A2SB (2-partitioning)", "8kHz SiSpec"].startswith("not run (")
    assert "MAID" not in table.index  # not in Table 2 and not run
    assert len(agreement) == 9 and all("tau undefined over 1" in a for a in agreement)


def test_kendall_tau_direction() -> None:
    ours = {"a": 1.0, "b": 2.0, "c": 3.0}
    assert tables.kendall(ours, {"a": 0.5, "b": 0.9, "c": 1.2}, "LSD") == (pytest.approx(1.0), 3)
    tau, n = tables.kendall(ours, {"a": 3.0, "b": 2.0, "c": 1.0}, "SiSpec")
    assert n == 3 and tau == pytest.approx(-1.0)
    assert tables.kendall({"a": 1.0}, {"a": 2.0}, "LSD") == (None, 1)


def test_kendall_in_table_uses_common_methods() -> None:
    # ours ranks A2SB p1 < p2 < p4 in LSD exactly like the paper on 4 kHz AAM (2.09/1.95/1.92?)
    paper = pd.read_csv(PAPER)
    p = paper[(paper.table == 2) & (paper.setting == "4kHz") & (paper.metric == "LSD")]
    vals = {r.method: r.value for r in p.itertuples()}
    ours = {"a2sb_p1": vals["A2SB (no partitioning)"], "a2sb_p2": vals["A2SB (2-partitioning)"],
            "a2sb_p4": vals["A2SB (4-partitioning)"]}  # fmt: skip
    summary = summary_rows({k: {"lsd": v} for k, v in ours.items()})
    _, agreement = tables.build_table(2, summary, paper)
    assert "4kHz LSD: tau = +1.00 over 3" in agreement[0]


def test_build_all_writes_three_formats(tmp_path: Path) -> None:
    summary = summary_rows({"sbr": {"lsd": 2.0, "sispec": 3.0, "visqol": 2.5}})
    summary.to_csv(tmp_path / "summary.csv", index=False)
    prov = tmp_path / "prov.json"
    prov.write_text(json.dumps({"git": {"commit": "abcdef1234567", "dirty": True},
                                "config_sha256": "f" * 64, "manifests": {"m.csv": "0" * 64},
                                "checkpoints": {"x/a.json": "1" * 64}, "seeds": {"seed": 0}}))  # fmt: skip
    tables.build_all(tmp_path / "summary.csv", PAPER, tmp_path / "out", prov)
    for n in range(2, 10):
        for ext in ("csv", "md", "tex"):
            assert (tmp_path / "out" / f"table{n}.{ext}").is_file()
    md = (tmp_path / "out" / "table2.md").read_text()
    assert "| SBR, classical (ours) | 2.000 (-)" in md and "abcdef1234 (dirty)" in md
    tex = (tmp_path / "out" / "table2.tex").read_text()
    assert r"\begin{tabular}" in tex and "A2SB (4-partitioning)" in tex
    csv = pd.read_csv(tmp_path / "out" / "table6.csv", comment="#")
    assert csv.iloc[0, 0] == "MAID" and csv.iloc[0, 1].startswith("not run")


def per_setting_rows(values: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    """``{method: {metric: [4kHz, 8kHz, 12kHz]}}`` on AAM bandwidth extension."""
    rows = [{"task": "bandwidth_extension", "dataset": "AAM", "setting": setting, "method": method,
             "metric": metric, "mean": value, "n": 2}
            for method, metrics in values.items() for metric, per in metrics.items()
            for setting, value in zip(("4kHz", "8kHz", "12kHz"), per)]  # fmt: skip
    return pd.DataFrame(rows)


START = {"lsd": [2.0, 2.0, 2.0], "sispec": [5.0, 5.0, 5.0], "visqol": [9.0, 9.0, 9.0]}


def test_versus_start_counts_the_cells_where_a2sb_improves_on_its_starting_point() -> None:
    # p1: LSD better / tied / worse, SiSpec better / worse / missing; p2 better everywhere;
    # ViSQOL (worse than the start everywhere) is not counted
    summary = per_setting_rows({
        "a2sb_start": START,
        "a2sb_p1": {"lsd": [1.0, 2.0, 3.0], "sispec": [6.0, 4.0, float("nan")], "visqol": [1.0] * 3},
        "a2sb_p2": {"lsd": [1.5, 1.5, 1.5], "sispec": [5.5, 5.5, 5.5]},
        "degraded": {"lsd": [0.1, 0.1, 0.1], "sispec": [1.0, 1.0, 1.0]},
    })  # fmt: skip
    note = tables.versus_start(2, summary)
    assert note is not None and note.startswith(
        "A2SB vs the row A2SB starting point (no network), the prior it starts from: "
        "A2SB (no partitioning) improves on its own starting point in 2 of 5 LSD/SiSpec cells; "
        "A2SB (2-partitioning) improves on its own starting point in 6 of 6 LSD/SiSpec cells"
    )
    assert note.endswith("not improved: A2SB (no partitioning) 8kHz LSD, "
                         "A2SB (no partitioning) 8kHz SiSpec, A2SB (no partitioning) 12kHz LSD")  # fmt: skip
    # the other tables hold none of these results; the degraded input is no A2SB row
    assert tables.versus_start(6, summary) is None
    assert "Degraded" not in note and "4-partitioning" not in note


def test_versus_start_without_the_row_names_why_or_says_nothing() -> None:
    summary = per_setting_rows({"a2sb_p1": {"lsd": [1.0, 1.0, 1.0]}})
    assert tables.versus_start(2, summary) is None
    note = tables.versus_start(2, summary, {"a2sb_start": "the A2SB rows start from noise"})
    assert note == "A2SB starting point (no network): not run: the A2SB rows start from noise"
    only_start = per_setting_rows({"a2sb_start": START})
    assert tables.versus_start(2, only_start) == (
        "A2SB starting point (no network): no A2SB row to compare with"
    )


def test_starting_point_row_and_note_in_the_built_table(tmp_path: Path) -> None:
    summary = per_setting_rows({
        "degraded": {"lsd": [3.0] * 3, "sispec": [1.0] * 3, "visqol": [2.0] * 3},
        "a2sb_start": {"lsd": [4.0] * 3, "sispec": [0.5] * 3, "visqol": [1.5] * 3},
        "a2sb_p1": {"lsd": [1.5] * 3, "sispec": [9.0] * 3, "visqol": [3.0] * 3},
    })  # fmt: skip
    summary.to_csv(tmp_path / "summary.csv", index=False)
    tables.build_all(tmp_path / "summary.csv", PAPER, tmp_path / "out", None)
    table = pd.read_csv(tmp_path / "out" / "table2.csv", comment="#", index_col=0)
    rows = list(table.index)
    assert rows.index("A2SB starting point (no network)") + 1 == rows.index(
        "A2SB (no partitioning)"
    )
    assert table.loc["A2SB starting point (no network)", "4kHz LSD"] == "4.000 (-)"  # no paper row
    md = (tmp_path / "out" / "table2.md").read_text()
    assert "A2SB (no partitioning) improves on its own starting point in 6 of 6 LSD/SiSpec" in md
    # the starting point is worse than the degraded input, but it is not an A2SB row
    assert "A2SB beats the degraded input on LSD and SiSpec in all 6 comparisons" in md
    assert "starting point" not in (tmp_path / "out" / "table6.md").read_text()


def test_human_eval_without_and_with_ratings(tmp_path: Path) -> None:
    stimuli = pd.DataFrame([{"stimulus": f"s{i}.wav", "task": "bandwidth_extension", "dataset": "AAM",
                             "method": m, "segment": i} for i, m in enumerate(["reference", "degraded", "a2sb_p1"] * 2)])  # fmt: skip
    mos_paper = pd.read_csv(ROOT / "reports/reference/paper_mos.csv")
    t = human_eval.mos_table(10, None, mos_paper)
    assert t.loc["Ground Truth", "AAM"] == "no ratings (4.36 ± 0.04)"
    ratings = pd.DataFrame({"stimulus": stimuli["stimulus"].repeat(2).values, "rater": ["a", "b"] * 6,
                            "score": [5, 4, 2, 1, 4, 4, 5, 5, 2, 2, 4, 3]})  # fmt: skip
    ours = human_eval.mos(ratings, stimuli)
    row = ours[ours.method == "reference"].iloc[0]
    assert row["mos"] == pytest.approx(4.75) and row["n"] == 4
    t = human_eval.mos_table(10, ours, mos_paper)
    assert t.loc["Degraded input (ours)", "AAM"].startswith("1.75 ±")


def test_runtime_table(tmp_path: Path) -> None:
    bench = tmp_path / "bench" / "train"
    bench.mkdir(parents=True)
    (bench / "pretrain.tsv").write_text(
        "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
        "12.5\t0:00:12\t512.3\t900\t500\t505\t0\t1\t150\t20.1\n"
    )
    df = runtime.read_benchmarks(tmp_path / "bench")
    assert df.iloc[0].to_dict() == {"stage": "train", "job": "train/pretrain", "wall_s": 12.5,
                                    "cpu_s": 20.1, "peak_rss_mb": 512.3}  # fmt: skip
    assert "| train | 1 | 12.5 | 20.1 | 512 |" in runtime.to_markdown(df)


def test_provenance_helpers(tmp_path: Path) -> None:
    assert find_seeds({"seed": 1, "train": {"pretrain": {"seed": 2}}}) == {
        "seed": 1,
        "train.pretrain.seed": 2,
    }
    ck = tmp_path / "models" / "a.safetensors"
    ck.parent.mkdir()
    ck.write_bytes(b"weights")
    bundle = tmp_path / "models" / "b.json"
    bundle.write_text(json.dumps({"partitions": [{"checkpoint": "a.safetensors", "sha256": "ab"}]}))
    hashes = checkpoint_hashes([bundle])
    assert hashes[str(ck)] == "ab" and len(hashes[str(bundle)]) == 64


def test_tables_cli_error_is_one_line(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "reports.tables", "build", "--summary",
                          str(tmp_path / "missing.csv"), "--paper", str(PAPER), "--out-dir", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert res.returncode == 1 and res.stderr.count("\n") == 1 and "tables: error" in res.stderr


def test_outputs_get_ordinary_permissions_and_raster_spectrograms(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        write_text(tmp_path / "t.md", "x\n")
        assert (tmp_path / "t.md").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    finally:
        os.umask(mask)
    # a 20 s spectrogram as a vector mesh would be tens of MB of PDF; rasterized it is small
    ref, deg = tmp_path / "ref", tmp_path / "deg"
    ref.mkdir()
    deg.mkdir()
    x = np.random.default_rng(0).standard_normal(44100 * 20).astype(np.float32) * 0.1
    sf.write(ref / "a.wav", x, 44100)
    sf.write(deg / "a.wav", x * 0.5, 44100)
    out = tmp_path / "fig" / "fig2"
    assert figures.main(["spectrograms", "--reference", str(ref), "--degraded", str(deg),
                         "--out", str(out)]) == 0  # fmt: skip
    assert (out.parent / "fig2.png").is_file()
    assert (out.parent / "fig2.pdf").stat().st_size < 3_000_000
