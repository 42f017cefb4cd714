import numpy as np
import pytest
import torch
from scipy.integrate import quad

from a2sb.bridge import BridgeSchedule, partition_boundaries, time_grid


@pytest.mark.parametrize("beta_max", [1.0, 0.3])
@pytest.mark.parametrize("t", [0.0, 0.1, 0.3, 0.5, 0.62, 0.9, 1.0])
def test_closed_forms_equal_numerical_integration(beta_max, t):
    sched = BridgeSchedule(beta_max=beta_max)
    beta = lambda s: beta_max * min(s, 1 - s) ** 2  # noqa: E731
    assert float(sched.sigma2(torch.tensor(t, dtype=torch.float64))) == pytest.approx(
        quad(beta, 0, t, points=[0.5] if t > 0.5 else None)[0], abs=1e-12
    )
    assert float(sched.sigmabar2(torch.tensor(t, dtype=torch.float64))) == pytest.approx(
        quad(beta, t, 1, points=[0.5] if t < 0.5 else None)[0], abs=1e-12
    )
    assert float(sched.sigma2(1.0)) == pytest.approx(beta_max / 12)


def test_marginal_tends_to_the_ends():
    sched = BridgeSchedule()
    x0, x1 = (
        torch.randn(2, 3, 8, 8, dtype=torch.float64),
        torch.randn(2, 3, 8, 8, dtype=torch.float64),
    )
    torch.testing.assert_close(
        sched.marginal(x0, x1, torch.full((2,), 1e-6, dtype=torch.float64)), x0
    )
    torch.testing.assert_close(
        sched.marginal(x0, x1, torch.full((2,), 1 - 1e-6, dtype=torch.float64)), x1
    )
    mid = sched.marginal(x0, x1, 0.5)
    torch.testing.assert_close(mid, (x0 + x1) / 2)
    assert float(sched.marginal_std(0.5, x0)) == pytest.approx(np.sqrt(1 / 48))


def test_marginal_per_item_times_broadcast():
    sched = BridgeSchedule()
    x0, x1 = torch.zeros(2, 3, 4, 4), torch.ones(2, 3, 4, 4)
    xt = sched.marginal(x0, x1, torch.tensor([0.25, 0.75]))
    s2, sb2 = 0.25**3 / 3, 1 / 12 - 0.25**3 / 3
    assert float(xt[0].mean()) == pytest.approx(s2 / (s2 + sb2), rel=1e-5)
    assert float(xt[1].mean()) == pytest.approx(sb2 / (s2 + sb2), rel=1e-5)


def test_target_and_prediction_invert_each_other():
    sched = BridgeSchedule()
    x0, xt = (
        torch.randn(4, 3, 8, 8, dtype=torch.float64),
        torch.randn(4, 3, 8, 8, dtype=torch.float64),
    )
    t = torch.tensor([0.1, 0.4, 0.6, 0.95], dtype=torch.float64)
    eps = sched.target(xt, x0, t)
    torch.testing.assert_close(sched.predict_x0(xt, eps, t), x0)


def test_posterior_matches_gaussian_product():
    """p(x_s | x_0, x_t) of the bridge: product of N(x_s; x_0, sigma_s^2) (forward from x_0)
    and the transition N(x_t; x_s, sigma_t^2 - sigma_s^2), normalised in x_s."""
    sched = BridgeSchedule()
    t, s = 0.7, 0.35
    st2, ss2 = float(sched.sigma2(t)), float(sched.sigma2(s))
    x0, xt = torch.tensor([0.3], dtype=torch.float64), torch.tensor([-1.2], dtype=torch.float64)
    prec = 1 / ss2 + 1 / (st2 - ss2)
    mean = (x0 / ss2 + xt / (st2 - ss2)) / prec
    var = 1 / prec
    torch.testing.assert_close(sched.posterior(xt, x0, t, s), mean)
    z = torch.tensor([1.0], dtype=torch.float64)
    torch.testing.assert_close(
        sched.posterior(xt, x0, t, s, z) - mean,
        torch.sqrt(torch.tensor(var, dtype=torch.float64)) * z,
    )


def test_time_grid_and_partitions():
    g = time_grid(5)
    assert g[0] == 1.0 and float(g[-1]) == pytest.approx(0.05) and len(g) == 5
    assert torch.all(g[1:] < g[:-1])
    sched = BridgeSchedule()
    edges = partition_boundaries(4)
    s2 = [float(sched.sigma2(hi)) for _, hi in edges]
    np.testing.assert_allclose(s2, [1 / 48, 2 / 48, 3 / 48, 4 / 48], rtol=1e-12)
    assert partition_boundaries(2) == [(0.0, 0.5), (0.5, 1.0)]
    with pytest.raises(ValueError):
        partition_boundaries(3)
