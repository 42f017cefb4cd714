"""Figure 7 (long audio): its input (workflow/scripts/make_long_input.py) and the figure of both
restoration paths, streaming and in memory, from Snakemake benchmark files."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # reports/ is a folder of scripts, not an installed package

from reports import figures  # noqa: E402

BENCH_COLUMNS = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def load_make_long_input():
    spec = importlib.util.spec_from_file_location(
        "make_long_input", ROOT / "workflow" / "scripts" / "make_long_input.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_bench(path: Path, wall: float, rss: float, cpu: float | str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(BENCH_COLUMNS + f"{wall}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t100\t{cpu}\n")
    return path


@pytest.fixture
def benches(tmp_path: Path) -> dict[str, list[Path]]:
    """Streaming at 10, 60 and 1800 s (flat memory), in memory at 10 and 60 s (growing)."""
    root = tmp_path / "benchmarks" / "long_audio"
    return {
        "streaming": [
            write_bench(root / "streaming" / f"{s}s.tsv", 2 + s * 0.5, 650, 3 + s)
            for s in (1800, 10, 60)
        ],
        "in_memory": [
            write_bench(root / "in_memory" / f"{s}s.tsv", 1 + s * 0.3, 600 + 5 * s)
            for s in (60, 10)
        ],
    }


def check_outputs(out: Path) -> pd.DataFrame:
    assert out.with_suffix(".png").stat().st_size > 0
    assert out.with_suffix(".pdf").stat().st_size > 0
    return pd.read_csv(out.with_suffix(".csv"))


def test_figure_plots_both_paths(tmp_path: Path, benches: dict[str, list[Path]]) -> None:
    out = tmp_path / "figures" / "fig7_long_audio"
    argv = ["long-audio", "--streaming", *map(str, benches["streaming"]),
            "--in-memory", *map(str, benches["in_memory"]), "--out", str(out)]  # fmt: skip
    assert figures.main(argv) == 0
    df = check_outputs(out)
    assert list(df.columns) == ["path", "seconds", "wall_s", "cpu_s", "peak_rss_mb"]
    assert df["path"].tolist() == ["streaming"] * 3 + ["in_memory"] * 2
    assert df["seconds"].tolist() == [10, 60, 1800, 10, 60]  # sorted per path
    row = df[(df["path"] == "in_memory") & (df["seconds"] == 60)].iloc[0]
    assert row["wall_s"] == pytest.approx(19) and row["peak_rss_mb"] == pytest.approx(900)
    assert np.isnan(row["cpu_s"])  # an empty cpu_time cell
    assert df[df["path"] == "streaming"]["cpu_s"].tolist() == [13, 63, 1803]


def test_positional_benchmarks_take_the_path_from_their_folder(
    tmp_path: Path, benches: dict[str, list[Path]]
) -> None:
    out = tmp_path / "fig7"
    assert figures.main(["long-audio", *map(str, benches["in_memory"] + benches["streaming"]),
                         "--out", str(out)]) == 0  # fmt: skip
    by_options = tmp_path / "fig7_options"
    assert figures.main(["long-audio", "--streaming", *map(str, benches["streaming"]),
                         "--in-memory", *map(str, benches["in_memory"]),
                         "--out", str(by_options)]) == 0  # fmt: skip
    assert out.with_suffix(".csv").read_text() == by_options.with_suffix(".csv").read_text()


def test_one_path_alone(tmp_path: Path, benches: dict[str, list[Path]]) -> None:
    out = tmp_path / "fig7"
    assert figures.main(["long-audio", "--streaming", *map(str, benches["streaming"]),
                         "--out", str(out)]) == 0  # fmt: skip
    assert set(check_outputs(out)["path"]) == {"streaming"}


@pytest.mark.parametrize(
    "case, message",
    [
        ("no_files", "no benchmark files"),
        ("unknown_folder", "cannot tell its restoration path"),
        ("bad_name", "must be named <seconds>s.tsv"),
        ("duplicate", "two benchmarks of streaming at 10 s"),
    ],
)
def test_errors_are_one_line(
    tmp_path: Path, benches: dict[str, list[Path]], case: str, message: str, capsys
) -> None:
    argv = {
        "no_files": [],
        "unknown_folder": [str(write_bench(tmp_path / "other" / "10s.tsv", 1, 1))],
        "bad_name": ["--streaming", str(write_bench(tmp_path / "ten.tsv", 1, 1))],
        "duplicate": [str(benches["streaming"][1]), "--streaming", str(benches["streaming"][1])],
    }[case]
    assert figures.main(["long-audio", *argv, "--out", str(tmp_path / "f")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "figures: error" in err and message in err
    assert not (tmp_path / "f.png").exists()


def write_items(folder: Path, rate: int = 8000) -> np.ndarray:
    """Two short stereo items; returns their mono concatenation (the tile)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    a = rng.uniform(-0.5, 0.5, (2, 700)).astype(np.float32)
    b = rng.uniform(-0.5, 0.5, (2, 500)).astype(np.float32)
    sf.write(folder / "a.wav", a.T, rate, subtype="FLOAT")
    sf.write(folder / "b.wav", b.T, rate, subtype="FLOAT")
    return np.concatenate([a.mean(axis=0), b.mean(axis=0)])


@pytest.mark.parametrize("seconds", [0.1, 1.0, 2.5])
def test_long_input_is_the_tiled_mono_items_written_block_by_block(
    tmp_path: Path, seconds: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    mod = load_make_long_input()
    monkeypatch.setattr(mod, "BLOCK", 777)  # many blocks, none aligned with the tile
    tile = write_items(tmp_path / "in")
    out = tmp_path / "out" / "long.wav"
    assert mod.main(["--in-dir", str(tmp_path / "in"), "--seconds", str(seconds),
                     "--out", str(out)]) == 0  # fmt: skip
    data, rate = sf.read(out, dtype="float32")
    n = round(seconds * 8000)
    assert rate == 8000 and data.ndim == 1 and sf.info(str(out)).subtype == "FLOAT"
    np.testing.assert_array_equal(data, np.tile(tile, n // tile.size + 1)[:n])  # the old output
    assert [p.name for p in out.parent.iterdir()] == ["long.wav"]  # no temporary file left


def test_long_input_errors(tmp_path: Path) -> None:
    script = ROOT / "workflow" / "scripts" / "make_long_input.py"

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(script), *args], capture_output=True,
                              text=True, cwd=ROOT)  # fmt: skip

    (tmp_path / "empty").mkdir()
    res = run(
        "--in-dir", str(tmp_path / "empty"), "--seconds", "1", "--out", str(tmp_path / "o.wav")
    )
    assert res.returncode == 2 and "no .wav files" in res.stderr
    write_items(tmp_path / "in")
    sf.write(tmp_path / "in" / "c.wav", np.zeros(100, np.float32), 16000)
    res = run("--in-dir", str(tmp_path / "in"), "--seconds", "1", "--out", str(tmp_path / "o.wav"))
    assert res.returncode == 2 and "differs from the first file's 8000 Hz" in res.stderr
    assert res.stderr.count("\n") == 1 and not (tmp_path / "o.wav").exists()
