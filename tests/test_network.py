"""The A2SB UNet (SPEC 5): released state-dict layout, conditioning, RoPE layout, blocks, presets."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from a2sb.network import PRESETS, A2SBUNet, ModelConfig, build_model, count_parameters
from a2sb.network.blocks import AttentionBlock, ResBlock
from a2sb.network.embeddings import band_embedding, conditioning_map, time_embedding
from a2sb.network.rope import apply_rope, pixel_freqs

TSV = Path(__file__).resolve().parent / "reference" / "official_a2sb_state_dict.tsv"

EXPECTED_PARAMS = {
    "paper": 565_544_851,
    "paper-2ch": 565_542_546,
    "bench-small": 10_519_507,
    "small": 9_487_059,
    "cpu": 3_860_363,
    "tiny": 737_319,
    "micro": 140_493,
}


def read_tsv() -> dict[str, tuple[int, ...]]:
    rows = TSV.read_text().strip().splitlines()[1:]
    out = {}
    for row in rows:
        name, shape, dtype = row.split("\t")
        assert name.startswith("vf_model.") and dtype == "float32"
        out[name[len("vf_model.") :]] = tuple(int(s) for s in shape.split("x"))
    return out


def meta_model(spec) -> A2SBUNet:
    with torch.device("meta"):
        return build_model(spec)


@pytest.fixture(scope="module")
def tiny() -> A2SBUNet:
    torch.manual_seed(0)
    model = build_model("tiny").eval()
    # Zero-initialised output convolutions hide most of the network: randomise them.
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, ResBlock):
                module.out_rest[2].weight.normal_(0, 0.05)
                module.out_rest[2].bias.normal_(0, 0.05)
    return model


# ----------------------------------------------------------------------------- layout and presets


@pytest.mark.skipif(not TSV.is_file(), reason="shared/reference TSV not present")
def test_paper_state_dict_equals_released_layout():
    model = meta_model("paper")
    tsv = read_tsv()
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert len(tsv) == 327
    assert set(ours) == set(tsv)
    assert ours == tsv
    assert count_parameters(model) == 565_544_851
    # The 9 RoPE frequency vectors are frozen parameters (as in rotary-embedding-torch).
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert len(frozen) == 9 and all(n.endswith("pos_emb.freqs") for n in frozen)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 565_544_851 - 144


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_preset_parameter_counts(name):
    assert count_parameters(meta_model(name)) == EXPECTED_PARAMS[name]


def test_presets_differ_only_in_size():
    paper = PRESETS["paper"]
    for name, cfg in PRESETS.items():
        # "cpu" (the default CPU profile) and "micro" (whole-pipeline tests) have one residual
        # block per level
        one = name in ("cpu", "micro")
        assert cfg.num_res_blocks == (1 if one else paper.num_res_blocks), name
        assert (cfg.time_freqs, cfg.band_freqs) == (64, 8), name
        assert cfg.in_channels == cfg.out_channels, name
    assert PRESETS["paper-2ch"].in_channels == 2
    assert count_parameters(meta_model("tiny")) < 1_000_000
    assert count_parameters(meta_model("micro")) < count_parameters(meta_model("tiny")) / 4


def test_model_config_round_trip_and_validation():
    cfg = PRESETS["small"]
    data = json.loads(json.dumps(cfg.to_dict()))
    assert data["widths"] == [32, 64, 96, 128, 160, 192]
    assert ModelConfig.from_dict(data) == cfg
    assert build_model(data).config == cfg
    with pytest.raises(ValueError, match="unknown keys"):
        ModelConfig.from_dict({**data, "depth": 3})
    with pytest.raises(ValueError, match="head dim 16"):
        ModelConfig(widths=(32,) * 6, num_heads=2, rope_freqs_per_axis=8)
    with pytest.raises(ValueError, match="multiples of norm_groups"):
        ModelConfig(widths=(32, 48, 64), enc_attn_levels=(), dec_attn_levels=(), num_heads=1)
    with pytest.raises(ValueError, match="outside 0..1"):
        ModelConfig(widths=(32, 32, 32), enc_attn_levels=(2,), num_heads=1, rope_freqs_per_axis=4)
    with pytest.raises(ValueError, match="unknown model preset"):
        build_model("huge")


def test_fewer_levels_work():
    cfg = ModelConfig(
        widths=(32, 64, 64),
        enc_attn_levels=(1,),
        dec_attn_levels=(0,),
        num_heads=2,
        rope_freqs_per_axis=4,
    )
    model = build_model(cfg).eval()
    assert len(model.enc_blocks) == 2 and len(model.enc_blocks[1]) == 4
    with torch.no_grad():
        assert model(torch.randn(1, 3, 12, 8), torch.rand(1)).shape == (1, 3, 12, 8)


# ----------------------------------------------------------------------------- conditioning


def test_time_embedding_formula():
    t = torch.tensor([0.0, 0.3, 1.0])
    emb = time_embedding(t)
    m = torch.linspace(0.5, 16, 64, dtype=torch.float64)
    ref = torch.cat([torch.sin(t.double()[:, None] * m), torch.cos(t.double()[:, None] * m)], 1)
    assert emb.shape == (3, 128)
    torch.testing.assert_close(emb.double(), ref, atol=1e-6, rtol=0)
    assert torch.all(emb[0, :64] == 0) and torch.all(emb[0, 64:] == 1)


def test_band_embedding_formula_uses_3_14():
    h = 16
    band = band_embedding(h).double()
    j = torch.arange(1, 9, dtype=torch.float64)[:, None]
    k = torch.arange(h, dtype=torch.float64)[None, :]
    a = j * k * 2 * 3.14 / (3 * h)
    assert band.shape == (16, h)
    torch.testing.assert_close(band, torch.cat([a.cos(), a.sin()]), atol=5e-6, rtol=0)
    a_pi = j * k * 2 * math.pi / (3 * h)
    assert (band - torch.cat([a_pi.cos(), a_pi.sin()])).abs().max() > 1e-4


def test_conditioning_map_layout():
    t_emb = time_embedding(torch.tensor([0.2, 0.9]))
    cond = conditioning_map(t_emb, 8)
    assert cond.shape == (2, 144, 8, 1)
    torch.testing.assert_close(cond[1, :16, :, 0], band_embedding(8))
    torch.testing.assert_close(cond[1, 16:, 5, 0], t_emb[1])


def test_each_resblock_sees_the_map_of_its_resolution(tiny):
    seen = []

    def hook(module, args):
        x, cond = args
        seen.append((x.shape[2], cond.shape[2], cond.shape[3]))

    handles = [m.register_forward_pre_hook(hook) for m in tiny.modules() if isinstance(m, ResBlock)]
    try:
        with torch.no_grad():
            tiny(torch.randn(1, 3, 64, 32), torch.rand(1))
    finally:
        for h in handles:
            h.remove()
    assert len(seen) == 5 * 2 * 2 + 2
    assert all(rows == cond_rows and width == 1 for rows, cond_rows, width in seen)
    assert [rows for rows, _, _ in seen][:10] == [64, 64, 32, 32, 16, 16, 8, 8, 4, 4]
    assert [rows for rows, _, _ in seen][12:] == [2, 2, 4, 4, 8, 8, 16, 16, 32, 32]


# ----------------------------------------------------------------------------- RoPE


def reference_axial_freqs(freqs: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """rotary-embedding-torch's ``get_axial_freqs(h, w)`` for ``freqs_for='pixel'``: [h, w, 4F]."""
    per_axis = []
    for n in (h, w):
        pos = torch.linspace(-1, 1, n, dtype=torch.float64)
        per_axis.append(torch.repeat_interleave(pos[:, None] * freqs.double(), 2, dim=-1))
    rows = per_axis[0][:, None, :].expand(h, w, -1)
    cols = per_axis[1][None, :, :].expand(h, w, -1)
    return torch.cat([rows, cols], dim=-1)


def reference_rotate_half(x: torch.Tensor) -> torch.Tensor:
    pairs = x.unflatten(-1, (-1, 2))
    return torch.stack([-pairs[..., 1], pairs[..., 0]], dim=-1).flatten(-2)


def reference_apply(freqs: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    rot = freqs.shape[-1]
    head, rest = t[..., :rot], t[..., rot:]
    return torch.cat([head * freqs.cos() + reference_rotate_half(head) * freqs.sin(), rest], -1)


def test_pixel_freqs_are_rotary_embedding_torchs():
    torch.testing.assert_close(pixel_freqs(16), torch.linspace(1, 32, 16) * math.pi)


@pytest.mark.parametrize(("f", "head_dim"), [(16, 96), (4, 16)])
def test_rope_matches_rotary_embedding_torch_layout(f, head_dim):
    h, w = 4, 6
    block = AttentionBlock(head_dim * 2, num_heads=2, rope_freqs=f, norm_groups=32)
    x = torch.randn(3, 2, h, w, head_dim, dtype=torch.float64)
    ref = reference_apply(reference_axial_freqs(block.pos_emb.freqs, h, w), x)
    angles = block.pos_emb.angles(h, w).double()
    ours = apply_rope(x.flatten(2, 3), angles).unflatten(2, (h, w))
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
    assert torch.equal(ours[..., 4 * f :], x[..., 4 * f :])  # beyond 4F dims: unchanged


def test_rope_first_pair_rotates_by_row_angle():
    angles = torch.tensor([[0.5, 0.0]])
    x = torch.tensor([[[1.0, 0.0, 2.0, 3.0]]])
    out = apply_rope(x, angles)
    torch.testing.assert_close(out, torch.tensor([[[math.cos(0.5), math.sin(0.5), 2.0, 3.0]]]))


def test_attention_block_matches_naive_attention():
    torch.manual_seed(1)
    c, heads, h, w = 64, 2, 4, 8
    block = AttentionBlock(c, heads, rope_freqs=8, norm_groups=32).double()
    x = torch.randn(2, c, h, w, dtype=torch.float64)
    xn = F.group_norm(x, 32, block.gnorm.weight, block.gnorm.bias, 1e-5)
    freqs = reference_axial_freqs(block.pos_emb.freqs, h, w)

    def heads_of(proj):  # [B, heads, H, W, d]
        return proj(xn).unflatten(1, (heads, c // heads)).permute(0, 1, 3, 4, 2)

    q = reference_apply(freqs, heads_of(block.q_proj)).flatten(2, 3)
    k = reference_apply(freqs, heads_of(block.k_proj)).flatten(2, 3)
    v = heads_of(block.v_proj).flatten(2, 3)
    att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(c // heads), dim=-1) @ v
    ref = att.unflatten(2, (h, w)).permute(0, 1, 4, 2, 3).reshape(2, c, h, w)
    with torch.no_grad():
        torch.testing.assert_close(block(x), ref, atol=1e-6, rtol=1e-5)  # float32 angles


# ----------------------------------------------------------------------------- blocks and forward


def test_fresh_resblock_is_identity():
    block = ResBlock(32, 144, dropout=0.1, norm_groups=32).eval()
    x = torch.randn(2, 32, 8, 4)
    with torch.no_grad():
        assert torch.equal(block(x, torch.randn(2, 144, 8, 1)), x)


def test_resblock_column_conditioning_equals_full_map():
    torch.manual_seed(2)
    block = ResBlock(32, 144, dropout=0.0, norm_groups=32)
    torch.nn.init.normal_(block.out_rest[2].weight, std=0.1)
    x, cond = torch.randn(2, 32, 8, 6), torch.randn(2, 144, 8, 1)
    with torch.no_grad():
        torch.testing.assert_close(block(x, cond), block(x, cond.expand(-1, -1, -1, 6)))


def test_forward_shapes_scalar_t_and_eval_determinism(tiny):
    x = torch.randn(2, 3, 32, 64)
    with torch.no_grad():
        y = tiny(x, torch.tensor([0.25, 0.25]))
        assert y.shape == x.shape and torch.isfinite(y).all()
        torch.testing.assert_close(tiny(x, 0.25), y)
        other_t = tiny(x, torch.tensor([0.25, 0.75]))
    torch.testing.assert_close(other_t[0], y[0])
    assert not torch.allclose(other_t[1], y[1])


def test_bad_shapes_raise_value_error(tiny):
    with pytest.raises(ValueError, match=r"multiples of 32.*N=48, W=64"):
        tiny(torch.randn(1, 3, 48, 64), torch.rand(1))
    with pytest.raises(ValueError, match=r"\[B, 3, N, W\]"):
        tiny(torch.randn(1, 2, 64, 64), torch.rand(1))
    with pytest.raises(ValueError, match="too small"):
        tiny(torch.randn(1, 3, 32, 32), torch.rand(1))
    with pytest.raises(ValueError, match="t has 3 entries"):
        tiny(torch.randn(2, 3, 64, 64), torch.rand(3))


def test_training_step_gradients(tiny):
    tiny.train()
    try:
        tiny.zero_grad()
        loss = tiny(torch.randn(2, 3, 32, 64), torch.rand(2)).square().mean()
        loss.backward()
        for name, p in tiny.named_parameters():
            if name.endswith("pos_emb.freqs"):
                assert p.grad is None
            else:
                assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert tiny.input_projection.weight.grad.abs().sum() > 0
    finally:
        tiny.zero_grad(set_to_none=True)
        tiny.eval()


def test_bf16_autocast_close_to_float32(tiny):
    x = torch.randn(1, 3, 32, 64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ref = tiny(x, torch.tensor([0.4]))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = tiny(x, torch.tensor([0.4]))
    assert low.dtype == torch.bfloat16
    rel = (low.float() - ref).norm() / ref.norm()  # bf16 through ~60 layers: a few percent
    print(f"bf16 relative error {rel:.4f}")
    assert rel < 0.1
