import pytest
import torch

from a2sb.bridge import BridgeSchedule, partition_boundaries
from a2sb.masks import apply_mask, bandwidth_mask, gap_mask
from a2sb.multidiffusion import WindowConfig, multidiffusion_eps, window_starts
from a2sb.representation import STFTConfig
from a2sb.sampler import PartitionRouter, sample

CFG = STFTConfig(sample_rate=22050, n_fft=128, hop_length=32, win_length=128, segment_frames=16)
SCHED = BridgeSchedule()


def oracle(x0: torch.Tensor):
    def eps_fn(x_t: torch.Tensor, t: float) -> torch.Tensor:
        return SCHED.target(x_t, x0, t)

    return eps_fn


@pytest.mark.parametrize("task", ["bandwidth-extension", "inpainting"])
@pytest.mark.parametrize("steps", [2, 7])
def test_oracle_sampling_recovers_x0(task, steps):
    gen = torch.Generator().manual_seed(1)
    x0 = torch.randn(3, CFG.n_rows, 40, dtype=torch.float64, generator=gen)
    mask = (
        bandwidth_mask(CFG, 40, 4000.0)
        if task == "bandwidth-extension"
        else gap_mask(CFG, 40, [(0.01, 0.02)])
    )
    assert 0 < mask.mean() < 1
    x1 = apply_mask(x0, mask, 0.5, torch.randn(x0.shape, generator=gen, dtype=torch.float64))
    out = sample(oracle(x0), x1, mask, SCHED, steps, generator=gen)
    torch.testing.assert_close(out, x0, rtol=1e-10, atol=1e-10)
    known = mask == 0
    assert torch.equal(out[:, known], x1[:, known])


def test_sampling_is_deterministic_for_a_seed():
    x1 = torch.randn(3, CFG.n_rows, 20)
    mask = bandwidth_mask(CFG, 20, 3000.0)

    def net(x, t):
        return 0.3 * x + t

    a = sample(net, x1, mask, SCHED, 5, generator=torch.Generator().manual_seed(7))
    b = sample(net, x1, mask, SCHED, 5, generator=torch.Generator().manual_seed(7))
    c = sample(net, x1, mask, SCHED, 5, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def pointwise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    assert x.ndim == 4 and t.shape == (x.shape[0],)
    return torch.tanh(x) * 2 + t.view(-1, 1, 1, 1)


@pytest.mark.parametrize("n_frames", [1, 15, 16, 17, 10 * 16 + 7])
@pytest.mark.parametrize("batch_size", [1, 3])
def test_multidiffusion_with_pointwise_net_equals_pointwise(n_frames, batch_size):
    win = WindowConfig(window_frames=16, hop_frames=8, batch_size=batch_size)
    x = torch.randn(3, 8, n_frames, dtype=torch.float64)
    fused = multidiffusion_eps(pointwise, x, 0.4, win)
    expected = pointwise(x[None], torch.tensor([0.4], dtype=torch.float64))[0]
    torch.testing.assert_close(fused, expected, rtol=1e-12, atol=1e-12)


def test_multidiffusion_averages_overlapping_windows_uniformly():
    win = WindowConfig(window_frames=4, hop_frames=2, batch_size=2)
    calls = []

    def position_net(x, t):  # output = index of the window in its batch call + 1
        calls.append(x.shape[0])
        return torch.ones_like(x) * torch.arange(1, x.shape[0] + 1, dtype=x.dtype).view(-1, 1, 1, 1)

    out = multidiffusion_eps(position_net, torch.zeros(1, 2, 8), 0.5, win)
    starts, padded = window_starts(8, win)
    assert starts == [0, 2, 4] and padded == 8 and calls == [2, 1]
    # frames 0-1: window 0 (=1); 2-3: windows 0, 1 (=1, 2); 4-5: windows 1, 2 (=2, 1); 6-7: window 2 (=1)
    torch.testing.assert_close(out[0, 0], torch.tensor([1, 1, 1.5, 1.5, 1.5, 1.5, 1, 1.0]))


def test_known_region_bit_exact_through_multidiffusion():
    win = WindowConfig(window_frames=16, hop_frames=8, batch_size=4)
    x1 = torch.randn(3, 32, 50)
    mask = torch.zeros(32, 50)
    mask[20:] = 1
    out = sample(
        lambda x, t: multidiffusion_eps(pointwise, x, t, win),
        x1,
        mask,
        SCHED,
        4,
        generator=torch.Generator().manual_seed(0),
    )
    assert torch.equal(out[:, :20], x1[:, :20])


@pytest.mark.parametrize("n", [1, 2, 4])
def test_partition_routing(n):
    edges = partition_boundaries(n)
    router = PartitionRouter([(torch.nn.Identity(), r) for r in edges])
    for i, (lo, hi) in enumerate(edges):
        assert router.index(lo) == i  # lower boundary belongs to the range that starts there
        assert router.index((lo + hi) / 2) == i
    assert router.index(1.0) == n - 1
    if n > 1:
        assert router.index(0.5 - 1e-6) == (0 if n == 2 else 1)
        assert router.index(0.5) == (1 if n == 2 else 2)


def test_partition_router_rejects_gaps():
    with pytest.raises(ValueError, match="tile"):
        PartitionRouter([(torch.nn.Identity(), (0.0, 0.4)), (torch.nn.Identity(), (0.5, 1.0))])
