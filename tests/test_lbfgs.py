"""simlib.lbfgs against problems whose minimiser is known."""

from __future__ import annotations

import torch

from simlib.lbfgs import LBFGS


def _quadratic(seed: int = 0, n: int = 30) -> tuple:
    generator = torch.Generator().manual_seed(seed)
    root = torch.randn(n, n, generator=generator, dtype=torch.float64)
    hessian = root @ root.T + 0.1 * torch.eye(n, dtype=torch.float64)
    linear = torch.randn(n, generator=generator, dtype=torch.float64)

    def objective(x: torch.Tensor) -> tuple[float, torch.Tensor]:
        return float(0.5 * x @ hessian @ x - linear @ x), hessian @ x - linear

    return objective, torch.linalg.solve(hessian, linear)


def _rosenbrock(x: torch.Tensor) -> tuple[float, torch.Tensor]:
    a, b = x[0], x[1]
    value = (1 - a) ** 2 + 100 * (b - a * a) ** 2
    gradient = torch.stack([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])
    return float(value), gradient


def test_an_ill_conditioned_quadratic_reaches_its_exact_minimiser():
    objective, minimiser = _quadratic()
    optimiser = LBFGS(objective, torch.zeros_like(minimiser))
    optimiser.run(500)
    torch.testing.assert_close(optimiser.x, minimiser, rtol=1e-6, atol=1e-6)
    assert optimiser.converged and optimiser.iterations < 500


def test_rosenbrock_from_the_classic_start_reaches_one_one():
    optimiser = LBFGS(_rosenbrock, torch.tensor([-1.2, 1.0], dtype=torch.float64))
    optimiser.run(300)
    torch.testing.assert_close(optimiser.x, torch.ones(2, dtype=torch.float64), rtol=0, atol=1e-5)
    assert optimiser.value < 1e-10


def test_rounds_continue_one_minimisation_exactly():
    objective, minimiser = _quadratic(seed=1)
    whole = LBFGS(objective, torch.zeros_like(minimiser))
    whole.run(40)
    rounds = LBFGS(objective, torch.zeros_like(minimiser))
    assert [rounds.run(10) for _ in range(4)] == [10, 10, 10, 10]
    assert torch.equal(whole.x, rounds.x) and whole.evaluations == rounds.evaluations


def test_a_stationary_start_stops_at_once_and_says_why():
    optimiser = LBFGS(lambda x: (float(x @ x), 2 * x), torch.zeros(3))
    assert optimiser.run(10) == 0
    assert optimiser.converged and optimiser.stopped == "gradient vanished"
