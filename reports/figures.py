"""Figures 2-7 (SPEC 9) as PNG and PDF, each with its provenance line in the caption.

``python -m reports.figures spectrograms --reference DIR --degraded DIR --restored DIR... --out STEM``
    Figures 2-3: log-magnitude spectrograms of the first item: reference, degraded, each method.
``python -m reports.figures ablation --reference DIR --degraded DIR --three DIR --two DIR --out-dir D``
    Figures 4-5: 3-channel vs 2-channel restorations: spectrograms, mean magnitude per band.
``python -m reports.figures phase-error fig6.csv --out STEM``
    Figure 6: box plots (quartiles, 5-95 % whiskers) of the phase error per band.
``python -m reports.figures long-audio --streaming TSV... --in-memory TSV... --out STEM``
    Figure 7: peak memory and wall time versus input length (Snakemake benchmark files named
    ``<seconds>s.tsv``), one line per restoration path, and STEM.csv (path, seconds, wall_s,
    cpu_s, peak_rss_mb). Positional TSVs take their path from their folder's name
    (``.../streaming/600s.tsv``, ``.../in_memory/600s.tsv``).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import signal  # noqa: E402

from a2sb.io.atomic import write_text  # noqa: E402
from a2sb.io.audio import read_audio  # noqa: E402

from ._io import provenance_caption, save_figure  # noqa: E402
from .tables import METHODS  # noqa: E402

LABEL = {m.name: m.label for m in METHODS}
N_FFT, HOP = 2048, 512


def first_wav(folder: Path) -> Path:
    files = sorted(Path(folder).glob("*.wav"))
    if not files:
        raise FileNotFoundError(f"{folder}: no .wav files")
    return files[0]


def load(path: Path, name: str | None = None) -> tuple[np.ndarray, int]:
    """Mono float audio of ``path`` (or of ``name`` inside the folder ``path``)."""
    path = Path(path)
    if path.is_dir():
        path = path / name if name else first_wav(path)
    audio, rate = read_audio(path, dtype="float64")
    return audio.mean(axis=0), rate


def spectrogram_db(x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    f, t, s = signal.stft(x, fs=rate, nperseg=N_FFT, noverlap=N_FFT - HOP)
    return f, t, 20 * np.log10(np.abs(s) + 1e-6)


def draw_spectrogram(ax: plt.Axes, x: np.ndarray, rate: int) -> None:
    """A 90 dB magma spectrogram (kHz over s), rasterized: as a vector mesh of every STFT cell
    one figure's PDF was 50-60 MB."""
    f, t, db = spectrogram_db(x, rate)
    ax.pcolormesh(t, f / 1000, db, vmin=db.max() - 90, vmax=db.max(), shading="auto",
                  cmap="magma", rasterized=True)  # fmt: skip


def method_of(folder: Path) -> str:
    """``results/P/restored/<method>/<set>/<task>/<setting>`` -> its label."""
    key = Path(folder).parts[-4]
    return LABEL.get(key, key)


def caption(fig: plt.Figure, provenance: Path | None) -> None:
    fig.text(0.0, -0.02, f"Provenance: {provenance_caption(provenance)}", fontsize=6, ha="left",
             va="top", wrap=True)  # fmt: skip


def cmd_spectrograms(args: argparse.Namespace) -> None:
    ref_path = first_wav(args.reference)
    panels = [("Reference", load(ref_path)), ("Degraded input", load(args.degraded, ref_path.name))]
    panels += [(method_of(d), load(d, ref_path.name)) for d in args.restored]
    n = len(panels)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, (label, (x, rate)) in zip(axes.flat, panels):
        draw_spectrogram(ax, x, rate)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("kHz")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(f"{args.title}: {ref_path.name}")
    fig.tight_layout()
    caption(fig, args.provenance)
    save_figure(fig, args.out)
    plt.close(fig)


def band_means(x: np.ndarray, rate: int, bands: int = 16) -> tuple[np.ndarray, np.ndarray]:
    f, _, s = signal.stft(x, fs=rate, nperseg=N_FFT, noverlap=N_FFT - HOP)
    mag = np.abs(s).mean(axis=1)
    edges = np.linspace(0, rate / 2, bands + 1)
    vals = [mag[(f >= lo) & (f < hi)].mean() for lo, hi in zip(edges[:-1], edges[1:])]
    return (edges[:-1] + edges[1:]) / 2, 20 * np.log10(np.array(vals) + 1e-9)


def cmd_ablation(args: argparse.Namespace) -> None:
    ref_path = first_wav(args.reference)
    panels = [("Reference", load(ref_path)), ("Degraded (4 kHz)", load(args.degraded, ref_path.name)),
              ("3-channel factorized", load(args.three, ref_path.name)),
              ("2-channel [Re, Im]", load(args.two, ref_path.name))]  # fmt: skip
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.2))
    for ax, (label, (x, rate)) in zip(axes, panels):
        draw_spectrogram(ax, x, rate)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("kHz")
    fig.suptitle("Figure 4: representation ablation (bandwidth extension at 4 kHz)")
    fig.tight_layout()
    caption(fig, args.provenance)
    save_figure(fig, args.out_dir / "fig4_representation_spectrograms")
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for label, (x, rate) in panels:
        centres, db = band_means(x, rate)
        ax.plot(centres / 1000, db, marker="o", ms=3, label=label)
    ax.axvline(4, color="grey", ls=":", lw=1)
    ax.set_xlabel("band centre (kHz)")
    ax.set_ylabel("mean magnitude (dB)")
    ax.set_title("Figure 5: mean magnitude per frequency band")
    ax.legend(fontsize=7)
    fig.tight_layout()
    caption(fig, args.provenance)
    save_figure(fig, args.out_dir / "fig5_band_magnitude")
    plt.close(fig)


def cmd_phase_error(args: argparse.Namespace) -> None:
    df = pd.read_csv(args.csv)
    stats = [
        {"label": f"{r['f_lo'] / 1000:.1f}-{r['f_hi'] / 1000:.1f}", "whislo": r["p05"], "q1": r["q1"],
         "med": r["median"], "q3": r["q3"], "whishi": r["p95"], "mean": r["mean"]}
        for _, r in df.iterrows()
    ]  # fmt: skip
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bxp(stats, showfliers=False, showmeans=True)
    ax.set_yscale("symlog", linthresh=1e-4)
    ax.set_xlabel("frequency band (kHz)")
    ax.set_ylabel("2 (r - 1)^2")
    ax.set_title("Figure 6: phase-orthogonalization error above the cutoff")
    plt.setp(ax.get_xticklabels(), rotation=30, fontsize=7)
    fig.tight_layout()
    caption(fig, args.provenance)
    save_figure(fig, args.out)
    plt.close(fig)


#: Figure 7's restoration paths: benchmark folder name (``--streaming`` / ``--in-memory``, the
#: CSV's ``path`` column) -> legend label and style
LONG_PATHS = {
    "streaming": ("streaming", {"marker": "o", "color": "tab:blue"}),
    "in_memory": ("in memory", {"marker": "s", "color": "tab:orange", "ls": "--"}),
}


def long_audio_rows(path: str, bench: Sequence[Path]) -> list[dict[str, object]]:
    """One row per benchmark TSV of a restoration path: the input length (from the file name
    ``<seconds>s.tsv``), wall time, CPU time and peak RSS of its last run."""
    rows = []
    for f in bench:
        m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)s\.tsv", Path(f).name)
        if not m:
            raise ValueError(f"{f}: a long-audio benchmark must be named <seconds>s.tsv")
        b = pd.read_csv(f, sep="\t")
        if b.empty or "s" not in b or "max_rss" not in b:
            raise ValueError(f"{f}: not a Snakemake benchmark file (columns s and max_rss)")
        last = {col: float(pd.to_numeric(b[col], errors="coerce").iloc[-1]) if col in b else np.nan
                for col in ("s", "cpu_time", "max_rss")}  # fmt: skip
        rows.append({"path": path, "seconds": float(m.group(1)), "wall_s": last["s"],
                     "cpu_s": last["cpu_time"], "peak_rss_mb": last["max_rss"]})  # fmt: skip
    return rows


def long_audio_table(args: argparse.Namespace) -> pd.DataFrame:
    """The benchmarks of ``--streaming`` and ``--in-memory``, and of the positional TSVs by their
    folder's name (``.../streaming/600s.tsv``), sorted by path then length."""
    groups: dict[str, list[Path]] = {"streaming": list(args.streaming or []),
                                     "in_memory": list(args.in_memory or [])}  # fmt: skip
    for f in args.bench:
        folder = Path(f).parent.name
        if folder not in groups:
            raise ValueError(
                f"{f}: cannot tell its restoration path (its folder must be one of "
                f"{', '.join(LONG_PATHS)}; or give it with --streaming / --in-memory)"
            )
        groups[folder].append(Path(f))
    rows = [row for path, files in groups.items() for row in long_audio_rows(path, files)]
    if not rows:
        raise ValueError("no benchmark files (give --streaming TSV... and/or --in-memory TSV...)")
    df = pd.DataFrame(rows, columns=["path", "seconds", "wall_s", "cpu_s", "peak_rss_mb"])
    dup = df[df.duplicated(["path", "seconds"], keep=False)]
    if len(dup):
        r = dup.iloc[0]
        raise ValueError(f"two benchmarks of {r['path']} at {r['seconds']:g} s")
    order = {p: i for i, p in enumerate(LONG_PATHS)}
    df = df.sort_values(["path", "seconds"], key=lambda c: c.map(order) if c.name == "path" else c)
    return df.reset_index(drop=True)


def length_label(seconds: float) -> str:
    """``10 s``, ``3 min``, ``1 h``: an input length as a tick label."""
    if seconds < 60:
        return f"{seconds:g} s"
    if seconds < 3600 or seconds % 3600:
        return f"{seconds / 60:.3g} min"
    return f"{seconds / 3600:g} h"


def cmd_long_audio(args: argparse.Namespace) -> None:
    df = long_audio_table(args)
    write_text(Path(f"{args.out}.csv"), df.to_csv(index=False))
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    for path, (label, style) in LONG_PATHS.items():
        d = df[df["path"] == path]
        if d.empty:
            continue
        ax.plot(d["seconds"], d["peak_rss_mb"], label=label, **style)
        ax2.plot(d["seconds"], d["wall_s"], label=label, **style)
    # lengths from seconds to an hour: a log axis, ticked at the measured lengths; wall time on
    # a log axis too (proportional to the length: a line of slope 1), memory from 0
    ticks = sorted(df["seconds"].unique())
    for a, ylabel in ((ax, "peak resident memory (MB)"), (ax2, "wall time (s)")):
        a.set_xscale("log")
        a.set_xticks(ticks, [length_label(t) for t in ticks], fontsize=7, rotation=30)
        a.minorticks_off()
        a.set_xlabel("input length")
        a.set_ylabel(ylabel)
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    ax.set_ylim(bottom=0)
    ax2.set_yscale("log")
    fig.suptitle("Figure 7: long-audio restoration (MultiDiffusion), streaming and in memory: "
                 "memory and time vs length", fontsize=10)  # fmt: skip
    fig.tight_layout()
    caption(fig, args.provenance)
    save_figure(fig, args.out)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reports.figures", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("spectrograms")
    s.add_argument("--reference", type=Path, required=True)
    s.add_argument("--degraded", type=Path, required=True)
    s.add_argument("--restored", type=Path, nargs="*", default=[])
    s.add_argument("--title", default="Spectrograms")
    s.add_argument("--out", type=Path, required=True)
    s.set_defaults(func=cmd_spectrograms)
    a = sub.add_parser("ablation")
    for name in ("reference", "degraded", "three", "two", "out-dir"):
        a.add_argument(f"--{name}", type=Path, required=True)
    a.set_defaults(func=cmd_ablation)
    e = sub.add_parser("phase-error")
    e.add_argument("csv", type=Path)
    e.add_argument("--out", type=Path, required=True)
    e.set_defaults(func=cmd_phase_error)
    m = sub.add_parser("long-audio")
    m.add_argument("bench", type=Path, nargs="*", default=[],
                   help="benchmark TSVs named <seconds>s.tsv in a folder streaming/ or in_memory/")  # fmt: skip
    m.add_argument("--streaming", type=Path, nargs="+", metavar="TSV",
                   help="benchmarks of the streaming restoration (<seconds>s.tsv)")  # fmt: skip
    m.add_argument("--in-memory", type=Path, nargs="+", metavar="TSV",
                   help="benchmarks of the in-memory restoration (--in-memory)")  # fmt: skip
    m.add_argument("--out", type=Path, required=True)
    m.set_defaults(func=cmd_long_audio)
    for q in (s, a, e, m):
        q.add_argument("--provenance", type=Path)
    args = p.parse_args(argv)
    try:
        args.func(args)
    except (OSError, KeyError, ValueError) as exc:
        print(f"figures: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
