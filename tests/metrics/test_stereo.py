"""Stereo image measures (metrics.stereo): ICC, ILD and width per band, regions, CLI, CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import metrics.stereo as stereo
from metrics.cli import main
from metrics.degradations import write_gaps_json
from metrics.errors import AudioError, MetricsError, MetricUndefined
from metrics.evaluate import STEREO_METRICS, parse_metrics
from metrics.stereo import (
    LEVEL_LIMIT_DB,
    MIN_BINS,
    stereo_bands,
    stereo_measures,
)
from metrics.stft import stft_params

SR = 44100
CUTOFF = 4000.0


def _noise(seconds: float, seed: int, scale: float = 0.1) -> np.ndarray:
    return scale * np.random.default_rng(seed).standard_normal(int(seconds * SR))


def _band(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``x`` with every DFT bin outside [lo, hi) Hz zeroed (brick wall, whole signal)."""
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1 / SR)
    spec[(f < lo) | (f >= hi)] = 0
    return np.fft.irfft(spec, n=len(x))


def _stereo(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return np.stack([left, right], axis=1)


def _low(seconds: float) -> np.ndarray:
    """Stereo content well below the cutoff: panned sines up to 1.5 kHz."""
    t = np.arange(int(seconds * SR)) / SR
    left = sum(0.2 * np.sin(2 * np.pi * f * t) for f in (220.0, 660.0, 1500.0))
    right = 0.3 * np.sin(2 * np.pi * 330.0 * t)
    return _stereo(left, right)


# ----------------------------------------------------------------------------- definitions


def test_bands_are_third_octaves_from_the_cutoff_to_nyquist() -> None:
    edges, starts = stereo_bands(SR, CUTOFF)
    expected = [4000, 5040, 6350, 8000, 10079, 12699, 16000, 22050]
    assert np.allclose(edges, expected, atol=1)
    n_fft, _ = stft_params(SR)
    freqs = np.arange(n_fft // 2 + 1) * SR / n_fft
    assert freqs[starts[0]] >= CUTOFF > freqs[starts[0] - 1]
    assert starts[-1] == n_fft // 2 + 1  # the top band includes the Nyquist bin
    for rate, low in ((44100, 50.0), (48000, 50.0), (48000, 12000.0), (16000, 50.0)):
        edges, starts = stereo_bands(rate, low)
        assert edges[0] == low and edges[-1] == rate / 2
        assert np.all(np.diff(starts) >= MIN_BINS)
        ratios = edges[1:] / edges[:-1]
        assert np.all(ratios >= 2 ** (1 / 6) - 1e-9)  # every band at least 1/6 octave
    with pytest.raises(ValueError, match="cutoff must lie"):
        stereo_bands(SR, 22050)


def test_identical_channels_and_identical_signals() -> None:
    x = _noise(2.0, 0)
    ref = _stereo(x, x)
    for region in ({}, {"cutoff_hz": CUTOFF}, {"gaps": [(0.5, 0.9)]}):
        m = stereo_measures(ref, ref.copy(), SR, **region)
        assert np.allclose(m.icc_ref, 1.0, atol=1e-5) and np.allclose(m.icc_est, 1.0, atol=1e-5)
        assert np.allclose(m.ild_ref, 0.0) and np.allclose(m.ild_est, 0.0)
        assert m.width_ref == m.width_est == -LEVEL_LIMIT_DB  # the floor: no side signal
        assert m.icc_err == m.ild_err == m.width_err == 0.0
        assert m.active.all()


def test_width_of_opposite_channels_is_the_ceiling() -> None:
    x = _noise(2.0, 1)
    m = stereo_measures(_stereo(x, -x), _stereo(x, x), SR)
    assert m.width_ref == LEVEL_LIMIT_DB and m.width_est == -LEVEL_LIMIT_DB
    assert m.width_err == 2 * LEVEL_LIMIT_DB
    assert np.allclose(m.icc_ref, 1.0, atol=1e-5)  # |C| is coherence, whatever its sign


@pytest.mark.parametrize(("g_left", "g_right"), [(1.0, 0.25), (0.3, 0.9)])
def test_panned_source_has_the_gain_ratio_in_every_band(g_left: float, g_right: float) -> None:
    s = _noise(2.0, 2)
    m = stereo_measures(_stereo(g_left * s, g_right * s), _stereo(s, s), SR)
    assert len(m.ild_ref) > 15
    assert np.allclose(m.ild_ref, 20 * np.log10(g_left / g_right), atol=1e-4)
    assert np.allclose(m.icc_ref, 1.0, atol=1e-4)
    width = 20 * np.log10(abs(g_left - g_right) / (g_left + g_right))
    assert m.width_ref == pytest.approx(width, abs=1e-4)
    assert m.ild_err == pytest.approx(abs(20 * np.log10(g_left / g_right)), abs=1e-4)


def test_independent_channels_have_low_coherence() -> None:
    ref = _stereo(_noise(3.0, 3), _noise(3.0, 4))
    m = stereo_measures(ref, ref, SR, cutoff_hz=CUTOFF)
    assert np.all(m.icc_ref < 0.2)
    assert m.width_ref == pytest.approx(0.0, abs=0.5)  # equal side and mid energy


def test_per_channel_noise_in_the_high_band_is_detected() -> None:
    """The issue's failure: a centred high band rebuilt with independent noise per channel."""
    seconds = 3.0
    low = _low(seconds)
    centred = _band(_noise(seconds, 10), CUTOFF, SR)
    reference = low + _stereo(centred, centred)
    per_channel = low + _stereo(
        _band(_noise(seconds, 11), CUTOFF, SR), _band(_noise(seconds, 12), CUTOFF, SR)
    )
    shared = _band(_noise(seconds, 13), CUTOFF, SR)
    shared_noise = low + _stereo(shared, shared)

    bad = stereo_measures(reference, per_channel, SR, cutoff_hz=CUTOFF)
    assert np.all(bad.icc_ref > 0.999) and np.all(bad.icc_est < 0.2)
    assert bad.icc_err > 0.8
    assert bad.width_ref == -LEVEL_LIMIT_DB and bad.width_est == pytest.approx(0.0, abs=0.5)
    assert bad.width_err > 55

    good = stereo_measures(reference, shared_noise, SR, cutoff_hz=CUTOFF)
    assert good.icc_err < 1e-3 and good.ild_err < 1e-3 and good.width_err < 1.0


def test_a_difference_below_the_cutoff_does_not_change_the_bwe_measures() -> None:
    seconds = 2.0
    high = _band(_noise(seconds, 20), CUTOFF, SR)
    high = _stereo(high, 0.5 * high + 0.5 * _band(_noise(seconds, 21), CUTOFF, SR))
    low = _low(seconds)
    reference = low + high
    changed_low = low[:, ::-1] + high  # low band's channels swapped,
    changed_low[:, 0] += _band(_noise(seconds, 22, 0.3), 100, CUTOFF / 2)  # noise left, < 2 kHz
    same = stereo_measures(reference, reference, SR, cutoff_hz=CUTOFF)
    low_only = stereo_measures(reference, changed_low, SR, cutoff_hz=CUTOFF)
    assert low_only.icc_err < 1e-4 and low_only.ild_err < 1e-3 and low_only.width_err < 1e-3
    assert np.allclose(low_only.icc_est, same.icc_est, atol=1e-4)
    assert stereo_measures(reference, changed_low, SR).ild_err > 5  # the whole signal sees it
    # the same kind of change above the cutoff is seen
    changed_high = reference.copy()
    changed_high[:, 0] += _band(_noise(seconds, 22, 0.3), CUTOFF, SR)
    assert stereo_measures(reference, changed_high, SR, cutoff_hz=CUTOFF).icc_err > 0.1


def test_only_frames_wholly_inside_the_gaps_count() -> None:
    seconds = 3.0
    x = _noise(seconds, 30)
    reference = _stereo(x, x)
    gaps = [(1.0, 1.3), (2.0, 2.5)]
    n_fft, hop = stft_params(SR)
    starts = np.arange(1 + len(x) // hop) * hop - n_fft // 2
    expected = sum(
        int(np.sum((starts >= round(a * SR)) & (starts + n_fft <= round(b * SR)))) for a, b in gaps
    )
    assert expected == 25 + 45

    outside = reference.copy()  # decorrelated everywhere but the gaps
    mask = np.ones(len(x), dtype=bool)
    for a, b in gaps:
        mask[round(a * SR) : round(b * SR)] = False
    outside[mask, 1] = _noise(seconds, 31)[mask]
    m = stereo_measures(reference, outside, SR, gaps=gaps)
    assert m.n_frames == expected
    assert m.icc_err == m.ild_err == m.width_err == 0.0
    assert stereo_measures(reference, outside, SR).icc_err > 0.3  # seen without the gaps

    inside = reference.copy()  # decorrelated in the gaps only
    inside[~mask, 1] = _noise(seconds, 32)[~mask]
    assert stereo_measures(reference, inside, SR, gaps=gaps).icc_err > 0.8


def test_level_blind_down_to_the_silence_floor() -> None:
    x = _noise(2.0, 40)  # per-cell power 1e-2 (-20 dB)
    reference = _stereo(x, x)
    quiet = stereo_measures(reference, 1e-3 * reference, SR, cutoff_hz=CUTOFF)  # -80 dB
    assert quiet.icc_err < 1e-12 and quiet.ild_err == 0.0 and quiet.width_err == 0.0
    silent = stereo_measures(reference, 1e-6 * reference, SR, cutoff_hz=CUTOFF)  # -140 dB
    assert np.all(silent.icc_est == 0.0) and silent.icc_err > 0.99  # silent: image lost
    assert silent.width_est == 0.0 and silent.width_err == 60.0
    # panned 40 dB and more: ICC falls as the quieter channel nears the -60 dB floor
    s = _noise(2.0, 41)
    icc = [stereo_measures(_stereo(s, 10 ** (-db / 20) * s), reference, SR).icc_ref.mean()
           for db in (40, 50, 60, 80)]  # fmt: skip
    assert icc == pytest.approx([0.995, 0.953, 0.707, 0.1], abs=0.01)


def test_matches_an_independent_dft() -> None:
    """Band sums of the chunked rfft against an explicit per-frame DFT over the frames of the
    centred STFT whose window lies inside the signal (5000 samples: centres 3 to 9 hops)."""
    rng = np.random.default_rng(50)
    audio = 0.1 * rng.standard_normal((5000, 2))
    audio[:, 1] += 0.7 * audio[:, 0]
    n_fft, hop = stft_params(SR)
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    edges, starts = stereo_bands(SR, CUTOFF)
    kernel = np.exp(-2j * np.pi * np.outer(np.arange(n_fft // 2 + 1), np.arange(n_fft)) / n_fft)
    firsts = [j * hop - n_fft // 2 for j in range(3, 10)]  # 3 * 441 >= 1024, 9 * 441 + 1024 <= 5000
    spectra = []
    for c in range(2):
        frames = [audio[f : f + n_fft, c] for f in firsts]
        spectra.append(np.array([kernel @ (f * w) for f in frames]) / np.sqrt(np.sum(w**2)))
    left, right = spectra
    m = stereo_measures(audio, audio, SR, cutoff_hz=CUTOFF)
    assert m.n_frames == 7
    for b in range(len(edges) - 1):
        sl = slice(starts[b], starts[b + 1])
        p_l = np.sum(np.abs(left[:, sl]) ** 2)
        p_r = np.sum(np.abs(right[:, sl]) ** 2)
        c = np.sum(left[:, sl] * np.conj(right[:, sl]))
        d = 1e-6 * (p_l + p_r)
        assert m.icc_ref[b] == pytest.approx(abs(c) / np.sqrt((p_l + d) * (p_r + d)), rel=1e-9)
        assert m.ild_ref[b] == pytest.approx(10 * np.log10((p_l + d) / (p_r + d)), abs=1e-9)
        side = np.sum(np.abs(left[:, sl] - right[:, sl]) ** 2)
        mid = np.sum(np.abs(left[:, sl] + right[:, sl]) ** 2)
        d = 1e-6 * (side + mid)
        width = 10 * np.log10((side + d) / (mid + d))
        assert m.width_band_ref[b] == pytest.approx(width, abs=1e-9)


def test_chunking_does_not_change_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    ref = _stereo(_noise(1.0, 60), _noise(1.0, 61) + _noise(1.0, 60))
    est = _stereo(_noise(1.0, 62), _noise(1.0, 63))
    whole = stereo_measures(ref, est, SR)
    monkeypatch.setattr(stereo, "_CHUNK_FRAMES", 7)
    chunked = stereo_measures(ref, est, SR)
    assert chunked.icc_err == pytest.approx(whole.icc_err, rel=1e-12)
    assert np.allclose(chunked.ild_est, whole.ild_est, rtol=0, atol=1e-10)


def test_bad_inputs() -> None:
    x = _noise(1.0, 70)
    ok = _stereo(x, x)
    with pytest.raises(MetricUndefined, match="estimate has 1 channel"):
        stereo_measures(ok, x, SR)
    with pytest.raises(MetricUndefined, match="reference has 3 channel"):
        stereo_measures(np.stack([x, x, x], 1), ok, SR)
    with pytest.raises(AudioError, match="channels last"):
        stereo_measures(ok.T, ok, SR)
    nan = ok.copy()
    nan[10, 1] = np.nan
    with pytest.raises(AudioError, match="non-finite"):
        stereo_measures(ok, nan, SR)
    with pytest.raises(AudioError, match="too short"):
        stereo_measures(ok[:2047], ok, SR)
    with pytest.raises(MetricUndefined, match="reference is silent"):
        stereo_measures(0 * ok, ok, SR)
    with pytest.raises(MetricUndefined, match="no STFT frame"):
        stereo_measures(ok, ok, SR, gaps=[(0.5, 0.52)])
    with pytest.raises(ValueError, match="not both"):
        stereo_measures(ok, ok, SR, cutoff_hz=CUTOFF, gaps=[(0.2, 0.6)])
    with pytest.raises(ValueError, match="start < end"):
        stereo_measures(ok, ok, SR, gaps=[(0.6, 0.2)])
    with pytest.raises(ValueError, match="cutoff must lie"):
        stereo_measures(ok, ok, SR, cutoff_hz=30000)


# ----------------------------------------------------------------------------- command line


@pytest.fixture()
def pair_files(tmp_path: Path) -> dict[str, Path]:
    seconds = 2.0
    centred = _band(_noise(seconds, 80), CUTOFF, SR)
    reference = _low(seconds) + _stereo(centred, centred)
    estimate = _low(seconds) + _stereo(
        _band(_noise(seconds, 81), CUTOFF, SR), _band(_noise(seconds, 82), CUTOFF, SR)
    )
    paths = {"ref": tmp_path / "ref.wav", "est": tmp_path / "est.wav", "mono": tmp_path / "m.wav"}
    sf.write(paths["ref"], reference, SR, subtype="FLOAT")
    sf.write(paths["est"], estimate, SR, subtype="FLOAT")
    sf.write(paths["mono"], centred, SR, subtype="FLOAT")
    return paths


def test_stereo_cli_json_and_table(
    pair_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["stereo", "--reference", str(pair_files["ref"]), "--estimate", str(pair_files["est"])]
    assert main([*argv, "--cutoff-hz", "4000", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    ref, _ = sf.read(pair_files["ref"])
    est, _ = sf.read(pair_files["est"])
    expected = stereo_measures(ref, est, SR, cutoff_hz=CUTOFF)
    assert record["icc_err"] == pytest.approx(expected.icc_err) and record["icc_err"] > 0.8
    assert record["region"] == "above 4000 Hz" and record["n_fft"] == 2048
    assert [b["icc_ref"] for b in record["bands"]] == pytest.approx(list(expected.icc_ref))
    assert record["bands"][0]["low_hz"] == 4000.0 and record["bands"][-1]["high_hz"] == 22050.0

    assert main([*argv, "--gaps", "0.5-0.9,1.2-1.6"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("region: 2 gap(s)") and "icc_err" in table
    assert "4000-5040" not in table and "50-159" in table

    gaps_json = write_gaps_json(pair_files["ref"], [(0.5, 0.9), (1.2, 1.6)], 400, SR)
    assert main([*argv, "--gaps-json", str(gaps_json)]) == 0
    assert capsys.readouterr().out == table


def test_stereo_cli_errors(pair_files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    ref, est, mono = (str(pair_files[k]) for k in ("ref", "est", "mono"))
    cases = [
        (["--reference", ref, "--estimate", mono], f"{mono}: 1 channel(s)"),
        (["--reference", ref, "--estimate", est, "--gaps", "2-1"], "start < end"),
        (["--reference", ref, "--estimate", est, "--gaps", "a-b"], "--gaps: cannot read"),
        (["--reference", ref, "--estimate", est, "--cutoff-hz", "-5"], "--cutoff-hz -5"),
        (["--reference", ref, "--estimate", est, "--cutoff-hz", "nan"], "--cutoff-hz nan"),
        (["--reference", ref, "--estimate", est, "--gaps", "0.1-0.11"], "no STFT frame"),
        (["--reference", ref, "--estimate", est, "--gaps-json", est + ".none"], "not found"),
        (["--reference", ref + ".none", "--estimate", est], ref + ".none"),
    ]
    for argv, message in cases:
        assert main(["stereo", *argv]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("metrics: error: ") and message in err and "\n" not in err, err
    assert main(["stereo", "--reference", ref, "--estimate", est, "--cutoff-hz", "4000",
                 "--gaps", "1-2"]) == 2  # fmt: skip
    assert "not allowed with" in capsys.readouterr().err


# ----------------------------------------------------------------------------- per-item CSV


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture()
def folders(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Stereo items a (per-channel noise) and b (identical), a mono pair m, and gap lists."""
    ref_dir, est_dir, gaps_dir = tmp_path / "ref", tmp_path / "est", tmp_path / "degraded"
    for d in (ref_dir, est_dir, gaps_dir):
        d.mkdir()
    seconds = 2.0
    centred = _band(_noise(seconds, 90), CUTOFF, SR)
    reference = _low(seconds) + _stereo(centred, centred)
    noisy = _low(seconds) + _stereo(
        _band(_noise(seconds, 91), 0, SR), _band(_noise(seconds, 92), 0, SR)
    )
    for name, est in (("a.wav", noisy), ("b.wav", reference)):
        sf.write(ref_dir / name, reference, SR, subtype="FLOAT")
        sf.write(est_dir / name, est, SR, subtype="FLOAT")
    sf.write(ref_dir / "m.wav", centred, SR, subtype="FLOAT")
    sf.write(est_dir / "m.wav", centred, SR, subtype="FLOAT")
    write_gaps_json(gaps_dir / "a.wav", [(0.5, 0.9)], 400, SR)
    write_gaps_json(gaps_dir / "m.wav", [(0.5, 0.9)], 400, SR)  # no list for b.wav
    return ref_dir, est_dir, gaps_dir


def test_parse_metrics_accepts_the_stereo_metrics() -> None:
    assert parse_metrics("lsd," + ",".join(STEREO_METRICS)) == ("lsd", *STEREO_METRICS)


def test_evaluate_writes_the_stereo_metrics(
    folders: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    ref_dir, est_dir, gaps_dir = folders
    argv = ["evaluate", "--reference", str(ref_dir), "--estimate", str(est_dir), "--quiet"]
    metrics = ["lsd", *STEREO_METRICS]
    out = tmp_path / "bwe.csv"
    assert (
        main([*argv, "--metrics", ",".join(metrics), "--cutoff-hz", "4000", "--out", str(out)]) == 0
    )
    get = {(r["item"], r["metric"]): r for r in _read(out)}
    assert len(get) == 3 * len(metrics)
    ref, _ = sf.read(ref_dir / "a.wav")
    est, _ = sf.read(est_dir / "a.wav")
    expected = stereo_measures(ref, est, SR, cutoff_hz=CUTOFF)
    for name in STEREO_METRICS:
        row = get[("a.wav", name)]
        assert row["status"] == "ok" and float(row["value"]) == pytest.approx(
            getattr(expected, name)
        )
        assert row["notes"] == "stereo region: above 4000 Hz"  # no "downmixed" note here
        identical = float(get[("b.wav", name)]["value"])
        assert identical == (-60.0 if name in ("width_ref", "width_est") else 0.0)
        mono = get[("m.wav", name)]
        assert mono["status"] == "undefined" and mono["value"] == ""
        assert "reference has 1 channel(s), they need 2" in mono["error"]
    assert float(get[("a.wav", "icc_err")]["value"]) > 0.8
    assert "downmixed reference from 2 channels" in get[("a.wav", "lsd")]["notes"]

    # LSD is the same whether or not the stereo metrics are requested
    plain = tmp_path / "plain.csv"
    assert main([*argv, "--metrics", "lsd", "--out", str(plain)]) == 0
    assert {r["item"]: r["value"] for r in _read(plain)} == {
        item: r["value"] for (item, m), r in get.items() if m == "lsd"
    }

    gaps_out = tmp_path / "gaps.csv"
    assert (
        main([*argv, "--metrics", "icc_err", "--gaps-dir", str(gaps_dir), "--out", str(gaps_out)])
        == 0
    )
    gap_rows = {r["item"]: r for r in _read(gaps_out)}
    expected = stereo_measures(ref, est, SR, gaps=[(0.5, 0.9)])
    assert float(gap_rows["a.wav"]["value"]) == pytest.approx(expected.icc_err)
    assert f"1 gap(s) from {gaps_dir / 'a.gaps.json'}" in gap_rows["a.wav"]["notes"]
    assert gap_rows["b.wav"]["status"] == "error"
    assert (
        gap_rows["b.wav"]["error"]
        == f"{gaps_dir / 'b.gaps.json'}: gap list not found (stereo metrics, --gaps-dir)"
    )
    assert gap_rows["m.wav"]["status"] == "undefined"

    summary = tmp_path / "summary.csv"
    assert main(["aggregate", str(out), str(gaps_out), "--out", str(summary)]) == 0
    by_metric = {r["metric"]: r for r in _read(summary)}
    assert set(by_metric) == {"lsd", *STEREO_METRICS}
    assert by_metric["icc_err"]["n"] == "3"  # a and b above the cutoff, a in the gaps
    assert by_metric["icc_err"]["n_undefined"] == "2" and by_metric["icc_err"]["n_failed"] == "1"
    widths = [float(get[(item, "width_ref")]["value"]) for item in ("a.wav", "b.wav")]
    assert by_metric["width_ref"]["n"] == "2"
    assert float(by_metric["width_ref"]["mean"]) == pytest.approx(np.mean(widths))


def test_evaluate_stereo_options_are_checked_first(
    folders: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref_dir, est_dir, gaps_dir = folders
    out = tmp_path / "x.csv"
    argv = ["evaluate", "--reference", str(ref_dir), "--estimate", str(est_dir), "--out", str(out)]
    cases = [
        (["--metrics", "lsd", "--cutoff-hz", "4000"], "region of the stereo metrics only"),
        (["--metrics", "icc_err", "--cutoff-hz", "0"], "--cutoff-hz 0: must be a positive"),
        (["--metrics", "icc_err", "--gaps-dir", str(tmp_path / "no")], "gap list folder not found"),
    ]
    for option, message in cases:
        assert main([*argv, *option]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("metrics: error: ") and message in err
        assert not out.exists()
    assert (
        main([*argv, "--metrics", "icc_err", "--cutoff-hz", "4000", "--gaps-dir", str(gaps_dir)])
        == 2
    )
    assert "not allowed with" in capsys.readouterr().err
    # a cutoff above an item's Nyquist is that item's error row
    assert main([*argv, "--metrics", "icc_err", "--cutoff-hz", "30000", "--quiet"]) == 0
    rows = {r["item"]: r for r in _read(out)}
    assert rows["a.wav"]["status"] == "error"
    assert rows["a.wav"]["error"] == "cutoff 30000 Hz is not below Nyquist at 44100 Hz"


def test_library_region_errors_are_metrics_errors() -> None:
    from metrics.evaluate import check_stereo_options

    with pytest.raises(MetricsError, match="not both"):
        check_stereo_options(["icc_err"], 4000.0, ".")
    check_stereo_options(["lsd"], None, None)  # nothing to check
