"""phi's regressors fit grouped rows: the objective and its gradient are those of the full data."""

from __future__ import annotations

import numpy as np
import torch

from simlib.embedding import LinearEmbedding, MLPEmbedding, group_rows


def _discrete_inputs(rng: np.random.Generator, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """Inputs on a 7 x 5 grid (many repeats), targets a smooth function of them plus noise."""
    x = np.stack([rng.integers(0, 7, n), rng.integers(0, 5, n)], axis=1).astype(np.float64)
    y = np.stack([np.sin(x[:, 0]) + x[:, 1], x[:, 0] * x[:, 1] / 10], axis=1) + rng.normal(0, 0.3, (n, 2))
    return x, y


def test_grouped_error_is_the_full_data_error_for_any_prediction():
    rng = np.random.default_rng(0)
    x, y = _discrete_inputs(rng)
    rows = group_rows(x, y)
    assert rows.x.shape[0] == len(np.unique(x, axis=0)) <= 35
    assert rows.counts.sum() == len(x)
    table = {tuple(key): rng.normal(size=2) for key in rows.x}
    full = np.stack([table[tuple(key)] for key in x])
    grouped = np.stack([table[tuple(key)] for key in rows.x])
    assert np.isclose(rows.mse(grouped), np.mean((full - y) ** 2), rtol=1e-12)
    assert rows.spread > 0.05


def test_linear_fit_on_groups_is_least_squares_on_every_row():
    x, y = _discrete_inputs(np.random.default_rng(1))
    fitted = LinearEmbedding().fit(x, y, x[:50], y[:50])
    design = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    np.testing.assert_allclose(fitted.coef_, coef, atol=1e-10)
    assert np.isclose(fitted.curves_.train[0], np.mean((design @ coef - y) ** 2), rtol=1e-10)


def test_mlp_gradient_on_groups_is_the_full_data_gradient():
    x, y = _discrete_inputs(np.random.default_rng(2))
    rows = group_rows(x, y)
    net = MLPEmbedding(hidden=16)._network(2, 2).double()

    def gradient(inputs: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> torch.Tensor:
        net.zero_grad()
        residual = net(torch.tensor(inputs)) - torch.tensor(targets)
        (torch.tensor(weights)[:, None] * residual**2).sum().backward()
        return torch.cat([p.grad.flatten() for p in net.parameters()])

    full = gradient(x, y, np.full(len(x), 1.0 / len(x)))
    grouped = gradient(rows.x, rows.y, rows.counts / rows.counts.sum())
    torch.testing.assert_close(grouped, full, rtol=1e-10, atol=1e-12)


def test_mlp_reported_training_error_counts_the_spread_within_groups():
    x, y = _discrete_inputs(np.random.default_rng(3))
    fitted = MLPEmbedding(hidden=16, max_steps=40).fit(x, y, x[:100], y[:100])
    full = np.mean((fitted.predict(x) - y) ** 2)
    kept = int(np.argmin(fitted.curves_.validation))
    assert np.isclose(fitted.curves_.train[kept], full, rtol=1e-4)
    assert fitted.curves_.train.min() >= group_rows(x, y).spread * (1 - 1e-6)


def test_mlp_output_layer_is_least_squares_on_its_own_features():
    """Variable projection: the fitted head is the (barely ridged) least-squares fit of the
    targets on the last hidden layer, so no change of the head alone lowers the error."""
    x, y = _discrete_inputs(np.random.default_rng(4))
    fitted = MLPEmbedding(hidden=16, max_steps=30).fit(x, y, x[:100], y[:100])
    body, head = fitted.network_[:-1], fitted.network_[-1]
    with torch.no_grad():
        features = body(torch.tensor(x, dtype=torch.float32)).double().numpy()
    design = np.concatenate([features, np.ones((len(x), 1))], axis=1)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    fitted_coef = np.concatenate([head.weight.detach().double().numpy().T, head.bias.detach().double().numpy()[None]])
    best = np.mean((design @ coef - y) ** 2)
    assert np.mean((design @ fitted_coef - y) ** 2) <= best * (1 + 1e-3)
