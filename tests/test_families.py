"""Output families: densities, means, sampling and divergences against scipy and closed forms."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from simlib.errors import SimlibError
from simlib.families import (
    Bernoulli,
    Categorical,
    Exponential,
    Lomax,
    Normal,
    OutputFamily,
    Policy,
    StudentT,
    family_from_config,
)
from simlib.random import make_generator

LOG2 = math.log(2.0)
QUAD_TOL = 1e-6

ALL_FAMILIES: list[OutputFamily] = [
    Bernoulli(),
    Categorical(4),
    Policy(3),
    Normal(),
    StudentT(),
    Lomax(),
    Exponential(),
]
CONTINUOUS = [Normal(), StudentT(), Lomax(), Exponential()]


def tensor(values: Sequence) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def random_params(family: OutputFamily, n: int, seed: int = 0) -> torch.Tensor:
    """Valid parameters from ``from_raw`` on spread-out raw values."""
    g = torch.Generator().manual_seed(seed)
    return family.from_raw(3.0 * torch.randn(n, family.n_params, generator=g, dtype=torch.float64))


def designed_params(family: OutputFamily, n: int, seed: int = 0) -> torch.Tensor:
    """Random parameters in the range the quadrature is built for: locations in [-10, 10],
    scales and rates in [0.1, 10], Student-t df in [1, 50], Lomax shape in [0.5, 20]."""
    g = torch.Generator().manual_seed(seed)
    ranges = {"loc": None, "scale": (0.1, 10.0), "rate": (0.1, 10.0), "df": (1.0, 50.0), "shape": (0.5, 20.0)}
    columns = []
    for name in family.param_names:
        u = torch.rand(n, generator=g, dtype=torch.float64)
        if ranges[name] is None:
            columns.append(20.0 * u - 10.0)
        else:
            lo, hi = ranges[name]
            columns.append(lo * (hi / lo) ** u)
    return torch.stack(columns, -1)


# --- scalar reference log densities (plain math: fast inside scipy.integrate.quad) -------------


def normal_logpdf(loc: float, scale: float) -> Callable[[float], float]:
    c = -math.log(scale) - 0.5 * math.log(2 * math.pi)
    return lambda x: c - 0.5 * ((x - loc) / scale) ** 2


def t_logpdf(df: float, loc: float, scale: float) -> Callable[[float], float]:
    c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(math.pi * df) - math.log(scale)
    return lambda x: c - 0.5 * (df + 1) * math.log1p(((x - loc) / scale) ** 2 / df)


def lomax_logpdf(shape: float, scale: float) -> Callable[[float], float]:
    c = math.log(shape / scale)
    return lambda x: c - (shape + 1) * math.log1p(x / scale)


def expon_logpdf(rate: float) -> Callable[[float], float]:
    return lambda x: math.log(rate) - rate * x


def quad_divergence(
    log_p: Callable[[float], float],
    log_q: Callable[[float], float],
    breaks: Sequence[float],
    kind: str,
    half_line: bool = False,
) -> float:
    """KL or JS by scipy quad over the real line, split at ``breaks`` (plus the infinite tails).

    With ``half_line`` the integral is over ``x > 0``, substituting ``x = exp(y)`` so that
    algebraic tails become exponential ones (breaks are then given in ``x``).
    """

    def kl(x: float) -> float:
        lp = log_p(x)
        return math.exp(lp) * (lp - log_q(x)) if lp > -745 else 0.0

    def js(x: float) -> float:
        lp, lq = log_p(x), log_q(x)
        lm = float(np.logaddexp(lp, lq)) - LOG2
        return 0.5 * (math.exp(lp) * (lp - lm) + math.exp(lq) * (lq - lm))

    f = kl if kind == "kl" else js
    if half_line:
        f_x = f
        breaks = [math.log(b) for b in breaks]

        def f(y: float) -> float:
            return f_x(math.exp(y)) * math.exp(y) if y < 700 else 0.0

    edges = [-math.inf, *sorted(set(breaks)), math.inf]
    pieces = itertools.pairwise(edges)
    return sum(integrate.quad(f, lo, hi, epsabs=1e-13, epsrel=1e-12, limit=400)[0] for lo, hi in pieces)


def real_breaks(locs: Sequence[float], scales: Sequence[float]) -> list[float]:
    return [m + k * s for m in locs for s in scales for k in (-30, -5, -1, 0, 1, 5, 30)]


def half_breaks(scales: Sequence[float]) -> list[float]:
    return [s * k for s in scales for k in (0.01, 0.1, 1, 10, 100, 1e3, 1e4)]


def assert_matches_quad(family: OutputFamily, kind: str, pairs: list, reference: Callable) -> None:
    p = tensor([pq[0] for pq in pairs])
    q = tensor([pq[1] for pq in pairs])
    got = (family.kl if kind == "kl" else family.js)(p, q)
    assert got.dtype == torch.float64 and got.shape == (len(pairs),)
    want = torch.tensor([reference(a, b, kind) for a, b in pairs], dtype=torch.float64)
    err = (got - want).abs()
    worst = int(err.argmax())
    message = f"{family} {kind} {pairs[worst]}: {float(got[worst])} vs quad {float(want[worst])}"
    assert float(err.max()) < QUAD_TOL, message


# --- config, registry, shapes ---------------------------------------------------------------------


@pytest.mark.parametrize("family", ALL_FAMILIES, ids=repr)
def test_config_round_trip(family: OutputFamily) -> None:
    rebuilt = family_from_config(family.config())
    assert rebuilt == family and type(rebuilt) is type(family) and hash(rebuilt) == hash(family)
    assert family.n_params == len(family.param_names)


def test_registry_and_equality() -> None:
    assert family_from_config({"name": "categorical", "k": 3}) == Categorical(3)
    assert Categorical(3).param_names == ("p0", "p1", "p2")
    assert Categorical(3) != Categorical(4)
    assert Categorical(3) != Policy(3)
    assert isinstance(Policy(3), Categorical) and Policy(3).config() == {"name": "policy", "k": 3}
    assert StudentT().param_names == ("df", "loc", "scale")
    assert Lomax().param_names == ("shape", "scale")
    with pytest.raises(SimlibError):
        family_from_config({"name": "gamma"})
    with pytest.raises(SimlibError):
        family_from_config({"name": "categorical"})
    with pytest.raises(SimlibError):
        Categorical(0)


@pytest.mark.parametrize("family", ALL_FAMILIES, ids=repr)
def test_from_raw_gives_valid_params(family: OutputFamily) -> None:
    g = torch.Generator().manual_seed(1)
    raw = torch.cat(
        [
            torch.full((1, family.n_params), -50.0, dtype=torch.float64),
            torch.full((1, family.n_params), 50.0, dtype=torch.float64),
            50.0 * (2 * torch.rand(200, family.n_params, generator=g, dtype=torch.float64) - 1),
        ]
    )
    params = family.from_raw(raw)
    assert params.shape == raw.shape and torch.isfinite(params).all() and params.dtype == torch.float64
    if isinstance(family, Categorical):
        assert (params >= 0).all()
        torch.testing.assert_close(params.sum(-1), torch.ones(len(raw), dtype=torch.float64))
    elif isinstance(family, Bernoulli):
        assert ((params >= 0) & (params <= 1)).all()
    else:
        positive = [i for i, name in enumerate(family.param_names) if name != "loc"]
        assert (params[:, positive] >= 1e-6).all()
    assert torch.isfinite(family.kl(params, params.flip(0))).all()
    js = family.js(params, params.flip(0))
    assert ((js >= 0) & (js <= LOG2)).all()


# --- log_prob and mean ----------------------------------------------------------------------------


def test_log_prob_matches_scipy() -> None:
    n = 300
    g = torch.Generator().manual_seed(2)
    x = 4.0 * torch.randn(n, generator=g, dtype=torch.float64)
    xpos = x.abs()

    p = random_params(Normal(), n, 3)
    want = stats.norm.logpdf(x.numpy(), p[:, 0].numpy(), p[:, 1].numpy())
    np.testing.assert_allclose(Normal().log_prob(p, x).numpy(), want, rtol=1e-10, atol=1e-10)

    p = random_params(StudentT(), n, 4)
    want = stats.t.logpdf(x.numpy(), p[:, 0].numpy(), p[:, 1].numpy(), p[:, 2].numpy())
    np.testing.assert_allclose(StudentT().log_prob(p, x).numpy(), want, rtol=1e-9, atol=1e-9)

    p = random_params(Lomax(), n, 5)
    want = stats.lomax.logpdf(xpos.numpy(), p[:, 0].numpy(), scale=p[:, 1].numpy())
    np.testing.assert_allclose(Lomax().log_prob(p, xpos).numpy(), want, rtol=1e-10, atol=1e-10)

    p = random_params(Exponential(), n, 6)
    want = stats.expon.logpdf(xpos.numpy(), scale=1.0 / p[:, 0].numpy())
    np.testing.assert_allclose(Exponential().log_prob(p, xpos).numpy(), want, rtol=1e-10, atol=1e-10)

    for family in (Lomax(), Exponential()):
        assert torch.isneginf(family.log_prob(random_params(family, 2), tensor([-1.0, -1e-9]))).all()

    p = random_params(Bernoulli(), n, 7)
    y = (torch.rand(n, generator=g, dtype=torch.float64) < 0.5).to(torch.float64)
    want = stats.bernoulli.logpmf(y.numpy(), p[:, 0].numpy())
    np.testing.assert_allclose(Bernoulli().log_prob(p, y).numpy(), want, rtol=1e-10, atol=1e-10)

    p = random_params(Categorical(5), n, 8)
    idx = torch.randint(0, 5, (n,), generator=g)
    want = np.log(p.numpy()[np.arange(n), idx.numpy()])
    np.testing.assert_allclose(Categorical(5).log_prob(p, idx.to(torch.float64)).numpy(), want, rtol=1e-12)


def test_mean_matches_scipy() -> None:
    p = tensor([[-1.0, 2.0], [3.0, 0.1]])
    torch.testing.assert_close(Normal().mean(p), tensor([-1.0, 3.0]))

    p = tensor([[0.5, 1.0, 2.0], [1.0, -2.0, 1.0], [1.5, -2.0, 3.0], [30.0, 4.0, 0.2]])
    want = [stats.t(df, loc, scale).mean() for df, loc, scale in p.tolist()]
    np.testing.assert_array_equal(StudentT().mean(p).numpy(), want)

    p = tensor([[0.5, 1.0], [1.0, 2.0], [1.5, 2.0], [7.0, 0.3]])
    want = [stats.lomax(c, scale=s).mean() for c, s in p.tolist()]
    np.testing.assert_allclose(Lomax().mean(p).numpy(), want, rtol=1e-12)
    assert torch.isposinf(Lomax().mean(p)[:2]).all()
    assert torch.isposinf(StudentT().mean(tensor([[1.0, 0.0, 1.0]]))).all()

    p = tensor([[0.5], [4.0]])
    np.testing.assert_allclose(Exponential().mean(p).numpy(), [stats.expon(scale=2.0).mean(), 0.25])

    torch.testing.assert_close(Bernoulli().mean(tensor([[0.3]])), tensor([0.3]))
    probs = random_params(Categorical(3), 4)
    torch.testing.assert_close(Categorical(3).mean(probs), probs)


# --- sampling ---------------------------------------------------------------------------------------

SAMPLE_CASES = [
    (Normal(), [1.5, 2.0], stats.norm(1.5, 2.0)),
    (StudentT(), [10.0, -1.0, 0.5], stats.t(10.0, -1.0, 0.5)),
    (Lomax(), [8.0, 2.0], stats.lomax(8.0, scale=2.0)),
    (Exponential(), [0.5], stats.expon(scale=2.0)),
    (Bernoulli(), [0.3], stats.bernoulli(0.3)),
]


@pytest.mark.parametrize(("family", "row", "dist"), SAMPLE_CASES, ids=[repr(c[0]) for c in SAMPLE_CASES])
def test_sample_moments_and_reproducibility(family: OutputFamily, row: list[float], dist) -> None:
    n = 200_000
    params = tensor([row]).expand(n, -1)
    draws = family.sample(params, make_generator(11))
    assert draws.shape == (n,) and draws.dtype == torch.float64
    assert torch.equal(draws, family.sample(params, make_generator(11)))
    assert not torch.equal(draws, family.sample(params, make_generator(12)))
    sd = math.sqrt(dist.var())
    assert abs(float(draws.mean()) - dist.mean()) < 5 * sd / math.sqrt(n)
    assert float(draws.var()) == pytest.approx(dist.var(), rel=0.05)
    if not family.discrete:
        assert stats.kstest(draws[:20_000].numpy(), dist.cdf).pvalue > 1e-3


@pytest.mark.parametrize("family", [Categorical(4), Policy(4)], ids=repr)
def test_categorical_sample_frequencies(family: Categorical) -> None:
    n = 200_000
    probs = tensor([[0.1, 0.0, 0.6, 0.3]])
    draws = family.sample(probs.expand(n, -1), make_generator(5))
    assert torch.equal(draws, family.sample(probs.expand(n, -1), make_generator(5)))
    counts = torch.bincount(draws.long(), minlength=4).to(torch.float64) / n
    assert counts[1] == 0
    torch.testing.assert_close(counts, probs[0], atol=4e-3, rtol=0)
    one_hot = tensor([[0.0, 0.0, 1.0, 0.0]]).expand(1000, -1)
    assert (family.sample(one_hot, make_generator(1)) == 2).all()


# --- discrete divergences ---------------------------------------------------------------------------


def test_discrete_divergences_by_hand() -> None:
    p, q = tensor([[0.2, 0.5, 0.3], [1.0, 0.0, 0.0]]), tensor([[0.4, 0.4, 0.2], [0.0, 1.0, 0.0]])
    a, b = p[0].numpy(), q[0].numpy()
    m = 0.5 * (a + b)
    kl = float(np.sum(a * np.log(a / b)))
    js = 0.5 * float(np.sum(a * np.log(a / m)) + np.sum(b * np.log(b / m)))
    cat = Categorical(3)
    assert float(cat.kl(p, q)[0]) == pytest.approx(kl, abs=1e-12)
    assert float(cat.js(p, q)[0]) == pytest.approx(js, abs=1e-12)
    assert float(cat.js(p, q)[1]) == pytest.approx(LOG2, abs=1e-12)
    assert math.isfinite(float(cat.kl(p, q)[1])) and float(cat.kl(p, q)[1]) > 20
    assert (cat.kl(p, p) == 0).all() and (cat.js(p, p).abs() < 1e-15).all()

    bern = Bernoulli()
    pb, qb = tensor([[0.3], [0.0], [1.0]]), tensor([[0.6], [1.0], [1.0]])
    kl_b = 0.3 * math.log(0.3 / 0.6) + 0.7 * math.log(0.7 / 0.4)
    assert float(bern.kl(pb, qb)[0]) == pytest.approx(kl_b, abs=1e-12)
    torch.testing.assert_close(bern.kl(pb, qb)[0], cat.kl(tensor([[0.7, 0.3]]), tensor([[0.4, 0.6]]))[0])
    assert float(bern.js(pb, qb)[1]) == pytest.approx(LOG2, abs=1e-9)
    assert float(bern.kl(pb, qb)[2]) == pytest.approx(0.0, abs=1e-12)


# --- continuous divergences against scipy quad --------------------------------------------------------


def _t_reference(a, b, kind):
    breaks = real_breaks([a[1], b[1]], [a[2], b[2]])
    return quad_divergence(t_logpdf(*a), t_logpdf(*b), breaks, kind)


def _normal_reference(a, b, kind):
    breaks = real_breaks([a[0], b[0]], [a[1], b[1]])
    return quad_divergence(normal_logpdf(*a), normal_logpdf(*b), breaks, kind)


def _lomax_reference(a, b, kind):
    breaks = half_breaks([a[1], b[1]])
    return quad_divergence(lomax_logpdf(*a), lomax_logpdf(*b), breaks, kind, half_line=True)


def _expon_reference(a, b, kind):
    breaks = half_breaks([1 / a[0], 1 / b[0]])
    return quad_divergence(expon_logpdf(*a), expon_logpdf(*b), breaks, kind, half_line=True)


T_PAIRS = [
    ((d1, m1, s1), (d2, m2, s2))
    for (d1, d2), (m1, m2), (s1, s2) in itertools.product(
        [(1.0, 1.0), (1.0, 30.0), (30.0, 2.0)],
        [(0.0, 0.0), (0.0, 4.0), (-20.0, 30.0)],
        [(1.0, 1.0), (1.0, 100.0), (100.0, 1.0), (0.05, 0.5)],
    )
]
LOMAX_PAIRS = [
    ((a1, l1), (a2, l2))
    for (a1, a2), (l1, l2) in itertools.product(
        [(0.5, 0.5), (0.5, 4.0), (4.0, 0.5), (2.0, 10.0)],
        [(1.0, 1.0), (1.0, 100.0), (100.0, 1.0), (0.3, 2.0)],
    )
]
NORMAL_PAIRS = [
    ((m1, s1), (m2, s2))
    for (m1, m2), (s1, s2) in itertools.product(
        [(0.0, 0.0), (0.0, 2.0), (-10.0, 40.0)], [(1.0, 1.0), (1.0, 100.0), (100.0, 1.0), (0.5, 3.0)]
    )
]
EXPON_PAIRS = [((r1,), (r2,)) for r1, r2 in [(1.0, 1.0), (1.0, 100.0), (100.0, 1.0), (0.3, 2.0), (2.0, 0.01)]]


@pytest.mark.parametrize("kind", ["kl", "js"])
def test_student_t_matches_quad(kind: str) -> None:
    assert_matches_quad(StudentT(), kind, T_PAIRS, _t_reference)


@pytest.mark.parametrize("kind", ["kl", "js"])
def test_lomax_matches_quad(kind: str) -> None:
    assert_matches_quad(Lomax(), kind, LOMAX_PAIRS, _lomax_reference)


@pytest.mark.parametrize("kind", ["kl", "js"])
def test_normal_matches_quad(kind: str) -> None:
    assert_matches_quad(Normal(), kind, NORMAL_PAIRS, _normal_reference)


@pytest.mark.parametrize("kind", ["kl", "js"])
def test_exponential_matches_quad(kind: str) -> None:
    assert_matches_quad(Exponential(), kind, EXPON_PAIRS, _expon_reference)


def test_quadrature_kl_matches_closed_forms() -> None:
    """Cauchy (Student-t, df = 1) and same-scale Lomax KLs have closed forms."""
    cauchy = [
        ((0.0, 1.0), (0.0, 100.0)),
        ((0.0, 1.0), (3.0, 0.01)),
        ((-5.0, 2.0), (50.0, 0.5)),
        ((1.0, 1.0), (1.0, 1.0)),
    ]
    p = tensor([[1.0, m, s] for (m, s), _ in cauchy])
    q = tensor([[1.0, m, s] for _, (m, s) in cauchy])
    want = [math.log(((g1 + g2) ** 2 + (m1 - m2) ** 2) / (4 * g1 * g2)) for (m1, g1), (m2, g2) in cauchy]
    np.testing.assert_allclose(StudentT().kl(p, q).numpy(), want, atol=QUAD_TOL, rtol=0)

    shapes = [(0.5, 3.0), (3.0, 0.5), (0.6, 0.7), (20.0, 1.0)]
    p = tensor([[a1, 2.0] for a1, _ in shapes])
    q = tensor([[a2, 2.0] for _, a2 in shapes])
    want = [math.log(a1 / a2) + a2 / a1 - 1 for a1, a2 in shapes]
    np.testing.assert_allclose(Lomax().kl(p, q).numpy(), want, atol=QUAD_TOL, rtol=0)


@pytest.mark.parametrize("family", CONTINUOUS, ids=repr)
def test_continuous_divergence_identities(family: OutputFamily) -> None:
    p, q = designed_params(family, 500, 20), designed_params(family, 500, 21)
    assert (family.kl(p, p).abs() < 1e-12).all()
    assert (family.js(p, p).abs() < 1e-12).all()
    torch.testing.assert_close(family.js(p, q), family.js(q, p), atol=1e-12, rtol=0)
    js, kl = family.js(p, q), family.kl(p, q)
    assert ((js >= 0) & (js <= LOG2)).all() and (kl >= 0).all()
    assert (js <= 0.5 * kl + 0.5 * family.kl(q, p) + 1e-9).all()
    rows = [0, 7, 123]
    torch.testing.assert_close(family.js(p[rows], q[rows]), js[rows], atol=1e-13, rtol=0)


def test_affine_invariance_and_separation() -> None:
    """Divergences are invariant under a common affine map; far-apart distributions have JS = log 2."""
    p, q = tensor([[3.0, 0.0, 1.0], [1.0, 0.0, 1.0]]), tensor([[1.0, 2.0, 5.0], [4.0, -1.0, 0.02]])
    shift, stretch = 37.0, 0.01

    def move(params: torch.Tensor) -> torch.Tensor:
        return torch.stack((params[:, 0], shift + stretch * params[:, 1], stretch * params[:, 2]), -1)

    for f in (StudentT().kl, StudentT().js):
        torch.testing.assert_close(f(move(p), move(q)), f(p, q), atol=1e-8, rtol=0)
    far = Normal().js(tensor([[0.0, 1.0], [0.0, 1.0]]), tensor([[1000.0, 1.0], [40.0, 0.1]]))
    torch.testing.assert_close(far, torch.full((2,), LOG2, dtype=torch.float64), atol=1e-9, rtol=0)


def test_edge_batches_and_gradients() -> None:
    for family in ALL_FAMILIES:
        empty = torch.zeros(0, family.n_params, dtype=torch.float64)
        assert family.kl(empty, empty).shape == (0,) and family.js(empty, empty).shape == (0,)
    p = tensor([[0.0, 1.0], [0.5, 2.0]]).requires_grad_()
    q = tensor([[0.0, 2.0], [0.5, 2.0]])
    grad_p, = torch.autograd.grad(Normal().js(p, q).sum(), p)
    assert torch.isfinite(grad_p).all()


def test_quadrature_is_fast() -> None:
    """Loose guard (the target is well under a second for 10 000 rows)."""
    for family in (StudentT(), Normal()):
        p, q = designed_params(family, 10_000, 30), designed_params(family, 10_000, 31)
        start = time.perf_counter()
        js = family.js(p, q)
        assert time.perf_counter() - start < 3.0
        rows = [0, 5000, 9999]  # several row chunks: each row must not depend on its batch
        torch.testing.assert_close(family.js(p[rows], q[rows]), js[rows], atol=1e-13, rtol=0)
