"""Evaluation degradations (SPEC 8): bandwidth limit by soxr resampling, centred gaps."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.cli import main
from metrics.degradations import (
    apply_gaps,
    bandwidth_limit,
    gap_samples,
    gaps_json_path,
    inpainting_gaps,
    read_gaps_json,
)


def _band_gain_db(x: np.ndarray, y: np.ndarray, rate: int, lo: float, hi: float) -> float:
    """Energy ratio of y to x in [lo, hi) Hz over the Hann-windowed middle half (no edges)."""
    mid = slice(len(x) // 4, 3 * len(x) // 4)
    w = np.hanning(mid.stop - mid.start)
    fx = np.abs(np.fft.rfft(x[mid] * w)) ** 2
    fy = np.abs(np.fft.rfft(y[mid] * w)) ** 2
    f = np.fft.rfftfreq(mid.stop - mid.start, 1 / rate)
    band = (f >= lo) & (f < hi)
    return float(10 * np.log10(fy[band].sum() / fx[band].sum()))


@pytest.mark.parametrize("cutoff", [4000, 8000, 12000])
def test_bandwidth_limit_removes_the_band_above_the_cutoff(cutoff: int) -> None:
    rate = 44100
    x = np.random.default_rng(0).standard_normal(2 * rate)
    y = bandwidth_limit(x, rate, cutoff)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert abs(_band_gain_db(x, y, rate, 0, 0.9 * cutoff)) < 0.1
    assert _band_gain_db(x, y, rate, cutoff, rate / 2) < -100


@settings(max_examples=20, deadline=None)
@given(
    length=st.integers(min_value=200, max_value=5000),
    channels=st.sampled_from([0, 1, 2]),
    cutoff=st.sampled_from([500.0, 1000.0, 2500.0, 3999.0]),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_bandwidth_limit_keeps_shape_and_dtype(
    length: int, channels: int, cutoff: float, dtype: type
) -> None:
    shape = (length,) if channels == 0 else (length, channels)
    x = np.random.default_rng(length).standard_normal(shape).astype(dtype)
    y = bandwidth_limit(x, 16000, cutoff)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert np.all(np.isfinite(y))


def test_bandwidth_limit_rejects_bad_cutoffs() -> None:
    with pytest.raises(ValueError, match="cutoff"):
        bandwidth_limit(np.zeros(100), 16000, 8000)
    with pytest.raises(ValueError, match="cutoff"):
        bandwidth_limit(np.zeros(100), 16000, 0)


def test_inpainting_gaps_of_spec_8() -> None:
    np.testing.assert_allclose(inpainting_gaps(12.0, 300), [(2.35, 2.65), (7.35, 7.65)])
    np.testing.assert_allclose(inpainting_gaps(2.65, 300), [(2.35, 2.65)])
    assert inpainting_gaps(2.6, 300) == []
    np.testing.assert_allclose(inpainting_gaps(10.0, 1000), [(2.0, 3.0), (7.0, 8.0)])


@settings(max_examples=50, deadline=None)
@given(
    duration=st.floats(min_value=0.0, max_value=300.0),
    gap_ms=st.sampled_from([100.0, 300.0, 500.0, 1000.0, 1600.0]),
)
def test_inpainting_gaps_properties(duration: float, gap_ms: float) -> None:
    gaps = inpainting_gaps(duration, gap_ms)
    g = gap_ms / 1000
    for i, (start, end) in enumerate(gaps):
        assert end - start == pytest.approx(g)
        assert (start + end) / 2 == pytest.approx(5 * i + 2.5)
        assert end <= duration + 1e-9
    # Every gap that fits is there: the next one would end past the file.
    assert 5 * len(gaps) + (5 + g) / 2 > duration - 1e-9


@settings(max_examples=30, deadline=None)
@given(
    duration=st.floats(min_value=0.5, max_value=16.0),
    gap_ms=st.sampled_from([300.0, 500.0, 1000.0]),
    rate=st.sampled_from([8000, 22050, 44100]),
    stereo=st.booleans(),
)
def test_apply_gaps_zeros_exactly_the_gaps(
    duration: float, gap_ms: float, rate: int, stereo: bool
) -> None:
    n = int(duration * rate)
    shape = (n, 2) if stereo else (n,)
    x = np.random.default_rng(n).uniform(0.1, 1.0, shape)
    gaps = inpainting_gaps(n / rate, gap_ms)
    y = apply_gaps(x, rate, gaps)
    mask = np.zeros(n, dtype=bool)
    for start, stop in gap_samples(gaps, rate):
        mask[start:stop] = True
        assert abs(stop - start - gap_ms / 1000 * rate) <= 1
    assert np.all(y[mask] == 0)
    np.testing.assert_array_equal(y[~mask], x[~mask])
    assert x.min() > 0  # the input is untouched


def test_degrade_cli_inpainting_and_bandwidth(tmp_path) -> None:
    rate = 8000
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 12 * rate).astype(np.float32)
    src = tmp_path / "in" / "song.wav"
    src.parent.mkdir()
    sf.write(src, x, rate, subtype="FLOAT")

    out = tmp_path / "out" / "song.wav"
    assert main(["degrade", "--task", "inpainting", "--gap-ms", "300", str(src), str(out)]) == 0
    y, y_rate = sf.read(out, dtype="float32")
    assert y_rate == rate and y.shape == x.shape
    record = json.loads(gaps_json_path(out).read_text())
    assert gaps_json_path(out).name == "song.gaps.json"
    np.testing.assert_allclose(record["gaps_s"], [[2.35, 2.65], [7.35, 7.65]])
    assert record["gap_ms"] == 300 and record["period_s"] == 5.0 and record["sample_rate"] == rate
    np.testing.assert_allclose(read_gaps_json(out), [(2.35, 2.65), (7.35, 7.65)])
    assert np.all(y[round(2.35 * rate) : round(2.65 * rate)] == 0)
    np.testing.assert_array_equal(y[: round(2.35 * rate)], x[: round(2.35 * rate)])

    bwe = tmp_path / "bwe"
    code = main(
        ["degrade", "--task", "bandwidth-extension", "--cutoff-hz", "1000", "--quiet"]
        + ["--in-dir", str(src.parent), "--out-dir", str(bwe)]
    )
    assert code == 0
    z, _ = sf.read(bwe / "song.wav", dtype="float32")
    np.testing.assert_allclose(z, bandwidth_limit(x, rate, 1000), atol=1e-7)
    assert sf.info(str(bwe / "song.wav")).subtype == "FLOAT"
    assert not list(bwe.glob(".*tmp*"))  # no temporary files left behind


def test_degrade_cli_errors(tmp_path, capsys) -> None:
    assert main(["degrade", "--task", "inpainting", "a.wav", "b.wav"]) == 2
    assert "needs --gap-ms" in capsys.readouterr().err
    code = main(["degrade", "--task", "inpainting", "--gap-ms", "300", "nope.wav", "b.wav"])
    assert code == 2
    assert capsys.readouterr().err == "metrics: error: nope.wav: no such file\n"
    assert main(["degrade", "--task", "nonsense", "a", "b"]) == 2


def _listing(folder) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("layout", ["same-file", "same-folder", "inside", "linked-folder"])
def test_degrade_refuses_to_overwrite_its_input(tmp_path, capsys, layout: str) -> None:
    rate = 8000
    folder = tmp_path / "in"
    x = np.random.default_rng(1).uniform(-0.5, 0.5, rate).astype(np.float32)
    for name in ("a.wav", "sub/b.wav", "sub/sub/b.wav"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(folder / name, x, rate, subtype="FLOAT")
    (tmp_path / "alias").symlink_to(folder, target_is_directory=True)
    before = _listing(tmp_path)
    argv = ["degrade", "--task", "bandwidth-extension", "--cutoff-hz", "1000", "--quiet"]
    if layout == "same-file":  # IN OUT the same file, spelled differently
        argv += [str(folder / "a.wav"), str(folder / "sub" / ".." / "a.wav")]
        victim, source = folder / "sub" / ".." / "a.wav", folder / "a.wav"
    elif layout == "same-folder":  # --out-dir equal to --in-dir
        argv += ["--in-dir", str(folder), "--out-dir", str(folder)]
        victim = source = folder / "a.wav"
    elif layout == "inside":  # --out-dir inside --in-dir: in/sub/b.wav -> in/sub/sub/b.wav
        argv += ["--in-dir", str(folder), "--out-dir", str(folder / "sub")]
        victim = source = folder / "sub" / "sub" / "b.wav"
    else:  # --out-dir a link to --in-dir
        argv += ["--in-dir", str(folder), "--out-dir", str(tmp_path / "alias")]
        victim, source = tmp_path / "alias" / "a.wav", folder / "a.wav"
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == f"metrics: error: {victim}: would overwrite the input {source}\n"
    assert _listing(tmp_path) == before  # nothing written, not even a temporary file
