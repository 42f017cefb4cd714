"""The training loop: loss, run directory, skipped files, resume, partitions and bundles."""

from __future__ import annotations

import csv
import json

import pytest
import safetensors.torch
import torch
from training_helpers import tiny_config

from a2sb.bridge import BridgeSchedule
from a2sb.checkpoint import load_partitions, read_sidecar
from a2sb.cli import main
from a2sb.errors import InputError
from a2sb.network import build_model
from a2sb.representation import encode
from a2sb.restoration import Restorer
from a2sb.training.dataset import CropDataset, collate, read_entries
from a2sb.training.objective import BridgeSpec, bridge_loss
from a2sb.training.trainer import train


def weights(path):
    return safetensors.torch.load_file(str(path))


def _fixed_batch(corpus, n=4):
    cfg = tiny_config(corpus)
    data = CropDataset(
        read_entries([corpus], "train"),
        cfg.stft_config(),
        cfg.mask_config(),
        "factorized",
        (0.0, 1.0),
    )
    spec = BridgeSpec(cfg.stft_config(), "factorized", cfg.mask_config(), BridgeSchedule())
    return cfg, collate([data[g] for g in range(n)]), spec


def test_loss_decreases_on_a_fixed_batch(corpus):
    cfg, batch, spec = _fixed_batch(corpus)
    torch.manual_seed(0)
    model = build_model(cfg.model_config())
    # RAdam takes momentum-only steps until its variance estimate is rectified (step 6).
    opt = torch.optim.RAdam(
        model.parameters(), lr=2e-2, weight_decay=1e-8, decoupled_weight_decay=True
    )
    losses = []
    for _ in range(14):
        loss = bridge_loss(model, batch, spec, torch.device("cpu"))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        final = bridge_loss(model, batch, spec, torch.device("cpu")).item()
    assert final < 0.88 * losses[0], losses + [final]


def test_loss_counts_only_the_masked_region(corpus, tmp_path):
    """Eq. 10: a network exact on the missing region (inside the true bandwidth) scores 0."""
    cfg, batch, spec = _fixed_batch(corpus)
    stft = cfg.stft_config()
    batch["keep"][:, 40:] = 0.0  # as for a file whose true bandwidth ends at row 40

    class Oracle(torch.nn.Module):
        def forward(self, x_t, t):
            target = BridgeSchedule().target(x_t, encode(batch["wave"], stft), t)
            weight = (batch["mask"] * batch["keep"]).unsqueeze(1)
            return target + 100.0 * (1 - weight) * torch.randn_like(x_t)

    assert bridge_loss(Oracle(), batch, spec, torch.device("cpu")).item() < 1e-3
    assert (
        bridge_loss(build_model(cfg.model_config()), batch, spec, torch.device("cpu")).item() > 0.1
    )


def test_run_skips_bad_files_and_writes_its_directory(bad_corpus, tmp_path):
    cfg = tiny_config(bad_corpus, max_steps=3, valid_manifests=[str(bad_corpus)], valid_every=2)
    run = tmp_path / "run"
    summary = train(cfg, run, progress=False, verbose=False)
    assert summary["steps"] == 3
    assert summary["skipped"] == {"unreadable": 1, "missing": 1, "true_sr_below_floor": 1}
    reasons = {s["reason"] for s in summary["skipped_files"]}
    assert reasons == {"unreadable", "missing", "true_sr_below_floor"}
    assert summary["samples_per_s"] > 0 and summary["final_loss"] > 0
    assert set(summary["valid"]) >= {"lsd_bwe", "lsd_inpainting", "valid_loss"}
    assert json.loads((run / "config.json").read_text())["max_steps"] == 3
    rows = list(csv.DictReader(open(run / "log.csv")))
    assert [int(r["step"]) for r in rows] == [1, 2, 3]
    assert set(rows[0]) >= {"step", "loss", "grad_norm", "lr", "samples_per_s"}
    assert [int(r["step"]) for r in csv.DictReader(open(run / "valid.csv"))] == [2, 3]
    assert list(run.glob("events.out.tfevents.*"))
    assert "skipped" in (run / "train.log").read_text()
    side = read_sidecar(run / "final.safetensors")
    extra = side["extra"]
    assert extra["kind"] == "factorized" and extra["beta_max"] == 1.0
    assert extra["mask_config"]["cutoff_hz_range"] == [500.0, 3500.0]
    assert extra["train"]["steps"] == 3 and extra["train"]["config_hash"] == cfg.config_hash()
    # the restoration side loads it
    restorer = Restorer.from_checkpoint(run / "final.safetensors")
    assert restorer.mask.fill_std == 0.5 and restorer.stft == cfg.stft_config()
    # a second fresh run into the same directory is refused
    with pytest.raises(InputError, match="--resume"):
        train(cfg, run, progress=False, verbose=False)


def test_resume_is_bit_exact(corpus, tmp_path):
    cfg = tiny_config(
        corpus, max_steps=4, checkpoint_every=2, model={"preset": "tiny"}
    )  # dropout 0.1
    full = train(cfg, tmp_path / "full", progress=False, verbose=False)
    assert full["steps"] == 4 and full["resumed_from"] is None
    part = train(tiny_config(corpus, max_steps=2, checkpoint_every=2, model={"preset": "tiny"}),
                 tmp_path / "part", progress=False, verbose=False)  # fmt: skip
    assert part["steps"] == 2
    rest = train(cfg, tmp_path / "part", resume=True, progress=False, verbose=False)
    assert rest["resumed_from"] == 2 and rest["steps"] == 4
    a, b = (
        weights(tmp_path / "full/final.safetensors"),
        weights(tmp_path / "part/final.safetensors"),
    )
    assert all(torch.equal(a[k], b[k]) for k in a)
    sa = weights(tmp_path / "full/checkpoints/step_00000004.state.safetensors")
    sb = weights(tmp_path / "part/checkpoints/step_00000004.state.safetensors")
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    rows = list(csv.DictReader(open(tmp_path / "part/log.csv")))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]


def test_partitions_bundle_routes_to_the_right_checkpoint(corpus, tmp_path):
    pre = tmp_path / "pre"
    train(tiny_config(corpus, max_steps=1, global_batch=2), pre, progress=False, verbose=False)
    runs = []
    for i in range(2):
        run = tmp_path / f"part{i}"
        cfg_file = tmp_path / "ft.json"
        cfg_file.write_text(json.dumps(tiny_config(corpus, max_steps=1, global_batch=2).to_dict()))
        rc = main(["train", "--config", str(cfg_file), "--init", str(pre / "final.safetensors"),
                   "--partition", str(i), "2", "--out", str(run), "--no-progress"])  # fmt: skip
        assert rc == 0
        runs.append(run)
    assert read_sidecar(runs[1] / "final.safetensors")["t_range"] == [0.5, 1.0]
    bundle = tmp_path / "bundle.json"
    assert main(["bundle", "--out", str(bundle), *map(str, reversed(runs))]) == 0
    parts = load_partitions(bundle)
    assert [p[1] for p in parts] == [(0.0, 0.5), (0.5, 1.0)]
    restorer = Restorer.from_checkpoint(bundle)
    for t, run in [
        (0.1, runs[0]),
        (0.49, runs[0]),
        (0.5, runs[1]),
        (0.95, runs[1]),
        (1.0, runs[1]),
    ]:
        expected = weights(run / "final.safetensors")
        routed = restorer.router.select(t).state_dict()
        assert all(torch.equal(routed[k], expected[k]) for k in expected), t
    # both partitions started from the pre-trained weights and moved away from them
    p0, p1 = weights(runs[0] / "final.safetensors"), weights(runs[1] / "final.safetensors")
    assert any(not torch.equal(p0[k], p1[k]) for k in p0)
    # a bundle whose ranges do not tile [0, 1] is refused
    assert main(["bundle", "--out", str(tmp_path / "b2.json"), str(runs[0])]) == 2


def test_loader_workers_report_skips_and_give_the_same_stream(bad_corpus, tmp_path):
    cfg = tiny_config(bad_corpus, max_steps=2, checkpoint_every=2)
    base = train(cfg, tmp_path / "w0", progress=False, verbose=False)
    workers = train(
        tiny_config(bad_corpus, max_steps=2, checkpoint_every=2, num_workers=2),
        tmp_path / "w2",
        progress=False,
        verbose=False,
    )
    assert workers["skipped"] == base["skipped"]
    assert workers["rank_weight_sha256"] == base["rank_weight_sha256"]


def test_cli_resume_checks_the_config(corpus, tmp_path, capsys):
    config = tmp_path / "c.json"
    config.write_text(json.dumps(tiny_config(corpus, max_steps=1).to_dict()))
    run = tmp_path / "run"
    base = [
        "train",
        "--config",
        str(config),
        "--out",
        str(run),
        "--no-progress",
        "--partition",
        "1",
        "2",
    ]
    assert main(base) == 0
    assert main(base) == 2  # a fresh start would overwrite the run
    assert "--resume" in capsys.readouterr().err
    assert main([*base, "--resume", "--dry-run"]) == 0  # same config: the pipeline resumes
    assert main([*base, "--resume", "--dry-run", "--set", "lr=1e-3"]) == 2
    assert "lr" in capsys.readouterr().err
    assert main([*base[:-3], "--resume", "--dry-run"]) == 2  # t_range differs without --partition
    capsys.readouterr()
    assert main(["train", "--out", str(run), "--resume", "--max-steps", "2", "--no-progress"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert (
        summary["steps"] == 2 and summary["resumed_from"] == 1 and summary["t_range"] == [0.5, 1.0]
    )
