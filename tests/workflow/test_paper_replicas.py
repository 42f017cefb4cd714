"""The paper profile's own graph, end to end, on replicas of every dataset served over HTTP.

``config/paper.yaml`` + ``config/replicas.yaml`` (sizes only) with ``data.registry.file`` pointing
at the replica registry (a2sb/data/replica.py): every registry dataset is downloaded from a
127.0.0.1 mirror (one connection dropped midway, resumed), licence-filtered, turned into
manifests; pre-training, 1/2/4-partition fine-tuning, the 2-channel ablation, the Maestro
research-use fine-tune, every baseline, the four registry test sets, every table and figure.
Then a second run has nothing to do. (Marker ``workflow``; several minutes on 2 CPU cores.)
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from a2sb.data.mirror import MirrorState, serve
from a2sb.io.provenance import file_sha256
from tests.workflow.ci_run import copy_pipeline

SNAKEMAKE = Path(sys.executable).with_name("snakemake")
PROFILE = "replicas"


def run_snakemake(cwd: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    cmd = [str(SNAKEMAKE), "--cores", "2", "--configfile", "config/paper.yaml",
           "config/replicas.yaml", "config/replica_registry.yaml", *args]  # fmt: skip
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV (a table's ``#`` note lines skipped)."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


@pytest.mark.workflow
@pytest.mark.timeout(2400)
def test_paper_graph_on_dataset_replicas(tmp_path: Path) -> None:
    from a2sb.data.replica import build_replicas, place_manual

    work = tmp_path / "pipeline"
    work.mkdir()
    copy_pipeline(work)
    with serve(MirrorState()) as mirror:
        # items of 3.2 s: the paper's inpainting protocol centres its first gap at 2.5 s
        replicas = build_replicas(tmp_path / "replicas", mirror.base, seconds=3.2)
        mirror.add_tree(replicas.www)
        place_manual(replicas, work / "resources" / "raw")
        registry = yaml.safe_load(replicas.registry.read_text())
        # drop the connection once in the middle of the largest download: it must resume
        sizes = {
            f["url"][len(mirror.base) :]: f["size_bytes"]
            for ds in registry["datasets"].values()
            for f in ds.get("files") or []
            if f.get("url", "").startswith(mirror.base) and f.get("default", True)
        }
        dropped = max(sizes, key=lambda p: sizes[p] or 0)
        mirror.cut_after[dropped] = sizes[dropped] // 2
        (work / "config" / "replica_registry.yaml").write_text(
            yaml.safe_dump({"data": {"registry": {"file": str(replicas.registry)}}})
        )
        first = run_snakemake(work, timeout=2100)
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-6000:]
        ranged = [r for p, r in mirror.requests if p == dropped and r]
        assert ranged and ranged[0].startswith("bytes="), mirror.requests
    out = work / "results" / PROFILE
    # licence filter table: kept / dropped per dataset as designed (Maestro: research-use run)
    filtered = {row["dataset"]: row for row in read_csv(out / "tables" / "licence_filter.csv")}
    assert len(filtered) == 16  # every dataset of the paper's lists (fsd50k: model card only)
    for name, row in filtered.items():
        counts = replicas.expected[name]
        kept = counts["kept_research"] if name == "maestro" else counts["kept"]
        assert int(row["items_kept"]) == kept, (name, row, counts)
        assert int(row["items_dropped"]) == counts["items"] - kept, (name, row, counts)
    # no NC / ND / unknown item in any training manifest; Maestro only in the research-use run
    configs = out / "configs"
    for run in ["pretrain", "ablation_2ch", "finetune_p1_0", "finetune_p2_1", "finetune_p4_3"]:
        cfg = json.loads((configs / f"{run}.json").read_text())
        assert not any("maestro" in m for m in cfg["manifests"]), (run, cfg["manifests"])
        for manifest in cfg["manifests"]:
            for row in read_csv(work / manifest):
                assert row["license_class"] == "permissive", (manifest, row)
    maestro_cfg = json.loads((configs / "maestro_p4_0.json").read_text())
    assert any("maestro" in m for m in maestro_cfg["manifests"])
    # tables and figures, with provenance naming the replica registry's hash
    digest = file_sha256(replicas.registry)[:12]
    for n in range(2, 10):
        table = (out / "tables" / f"table{n}.md").read_text()
        assert f"data registry registry.yaml sha256 {digest}" in table, table[-1500:]
    for fig in ["fig2_bandwidth_extension", "fig3_inpainting", "fig4_representation_spectrograms",
                "fig5_band_magnitude", "fig6_phase_error", "fig7_long_audio"]:  # fmt: skip
        assert (out / "figures" / f"{fig}.png").is_file(), fig
    # a second run does nothing (the mirror is gone: nothing may be downloaded again)
    again = run_snakemake(work, "-n", timeout=300)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
