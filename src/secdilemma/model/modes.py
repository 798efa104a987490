"""Modes of a posterior: definitions, membership, masses and a data-driven split.

A *mode* is a named region of parameter space, given either as an expression
over posterior variables (``"mu_w < -0.8"``) or as a callable. The *mass* of a
mode is the weighted share of posterior draws (SMC particles) inside it;
:func:`mode_masses` reports it per chain, pooled, with a standard error across
chains (independent SMC runs). This module is used by
:mod:`secdilemma.model.smc`, but works on any fit: for a NUTS fit the share of
draws in a mode says where the chains happened to be, not how much mass the
mode has (chains do not move between separated modes).

**Expressions** are a small, safe language, parsed with :mod:`ast` and
evaluated with NumPy; nothing is passed to :func:`eval`:

- numbers; names of posterior variables (``mu_w``, ``delta``, ``w`` ...);
  an element by integer position, ``cutpoints[0]``, ``w[3, 1]``;
- arithmetic ``+ - * / **``, comparisons ``< <= > >= == !=`` (chained too),
  ``and``, ``or``, ``not`` (also ``&``, ``|``, ``~``), parentheses;
- functions of one argument: ``abs, exp, log, sigmoid, logit`` (elementwise)
  and ``mean, median, min, max`` (over every dimension but the draw), e.g.
  ``mean(w) < 0.3`` for a per-state ``w``.

An expression must give one truth value per draw: a per-state variable has to
be reduced (``mean(w)``) or indexed (``w[0, 1]``).

**Known modes.** :data:`KNOWN_MODES` holds the split of a bundled variant
whose posterior is known to be multimodal on the historical panel: ``free``,
whose beliefs *harden* (``mu_w < -0.8``; ``mu_w`` ~ -2, ``w`` ~ 0.1) or
*settle* (``mu_w >= -0.8``; ``mu_w`` ~ 0.5, ``mu_s`` ~ 1.5)
(``benchmarks/README.md``). -0.8 lies in the gap between the two: NUTS chains
and SMC particles of either mode have ``mu_w`` well away from it.

**Data-driven split** (:func:`find_mode_split`). For each scalar parameter
the draws (pooled over chains) are put on the unconstrained scale (log for a
positive parameter, logit for one in (0, 1)) and smoothed by a Gaussian kernel
density with Silverman's bandwidth (from the number of distinct values: resampled
particles repeat), which over-smooths a bimodal sample and so errs towards
finding no split. The deepest valley between two peaks of the
estimated density is a candidate split if the density there is at most
:data:`SPLIT_MAX_DIP` times the lower of the two peaks and each side holds at
least :data:`SPLIT_MIN_MASS` of the draws; the parameter with the deepest such
valley gives the split, at the valley's bottom. Why this and not clustering
all ~110 coordinates: the modes of ``free`` differ in a few hyperparameters
(``mu_w`` above all), while the per-state ``z`` coordinates differ little and
would dominate a distance; a one-dimensional split is also a definition a
reader can check and reuse (``"mu_w < -0.81"``). Because the valley holds
little mass by construction, the masses hardly depend on where in it the
split falls. It can miss modes that differ only jointly in several
parameters; a known split or an explicit ``modes`` is then needed.
"""

from __future__ import annotations

import ast
import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray
from scipy.special import expit, logit

KNOWN_MODES: dict[str, dict[str, str]] = {
    "free": {"hardening": "mu_w < -0.8", "settling": "mu_w >= -0.8"},
}
"""Mode definitions of bundled variants, by variant name (module docstring)."""

SPLIT_MAX_DIP = 0.25
"""Largest density at the valley, relative to the lower peak, for a split."""

SPLIT_MIN_MASS = 0.05
"""Smallest share of draws on each side of a split."""

SPLIT_GRID = 512
"""Grid points of the kernel density estimate."""

_ELEMENTWISE: dict[str, Callable[[Any], Any]] = {
    "abs": np.abs,
    "exp": np.exp,
    "log": np.log,
    "sigmoid": expit,
    "logit": logit,
}
_REDUCTIONS: dict[str, Callable[..., Any]] = {
    "mean": np.mean,
    "median": np.median,
    "min": np.min,
    "max": np.max,
}
_ARITHMETIC: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
    ast.BitAnd: np.logical_and,
    ast.BitOr: np.logical_or,
}
_COMPARISONS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}

ModeSpec = str | Callable[[xr.Dataset], Any]
"""A mode: an expression (module docstring) or a callable of the posterior
:class:`xarray.Dataset` returning a boolean array over ``(chain, draw)``."""


class ModeExpression:
    """A parsed mode expression (module docstring), checked when made.

    Parameters
    ----------
    text
        The expression, e.g. ``"mu_w < -0.8"``.
    name
        The mode's name, for messages.

    Raises
    ------
    ValueError
        If the text is not an expression of the language, naming what is not allowed.
    """

    def __init__(self, text: str, name: str = "mode") -> None:
        self.text = str(text)
        self.name = name
        try:
            tree = ast.parse(self.text, mode="eval")
        except SyntaxError as err:
            raise ValueError(
                f"mode {name!r}: {self.text!r} is not an expression ({err.msg})"
            ) from None
        self._tree = tree
        self.names: set[str] = set()
        self._check(tree.body)

    def _fail(self, what: str) -> ValueError:
        return ValueError(f"mode {self.name!r}: {what} is not allowed in {self.text!r}")

    def _check(self, node: ast.AST) -> None:
        """Walk the tree once, refusing anything outside the language."""
        match node:
            case ast.BoolOp(values=values):
                for v in values:
                    self._check(v)
            case ast.UnaryOp(op=ast.Not() | ast.USub() | ast.UAdd() | ast.Invert(), operand=x):
                self._check(x)
            case ast.BinOp(left=a, op=op, right=b) if type(op) in _ARITHMETIC:
                self._check(a)
                self._check(b)
            case ast.Compare(left=a, ops=ops, comparators=rest):
                if not all(type(op) in _COMPARISONS for op in ops):
                    raise self._fail("'in' / 'is'")
                for v in (a, *rest):
                    self._check(v)
            case ast.Call(func=ast.Name(id=fn), args=[arg], keywords=[]) if (
                fn in _ELEMENTWISE or fn in _REDUCTIONS
            ):
                self._check(arg)
            case ast.Call(func=func):
                label = func.id if isinstance(func, ast.Name) else ast.unparse(func)
                raise self._fail(
                    f"the call {label}(...) (functions of one argument: "
                    f"{', '.join([*_ELEMENTWISE, *_REDUCTIONS])})"
                )
            case ast.Subscript(value=ast.Name(id=var), slice=index):
                items = index.elts if isinstance(index, ast.Tuple) else [index]
                if not all(
                    isinstance(i, ast.Constant) and type(i.value) is int and i.value >= 0
                    for i in items
                ):
                    raise self._fail("an index other than non-negative integers")
                self.names.add(var)
            case ast.Name(id=var):
                self.names.add(var)
            case ast.Constant(value=v) if type(v) in (int, float):
                pass
            case _:
                raise self._fail(f"{type(node).__name__} ({ast.unparse(node)!r})")

    def evaluate(self, values: Mapping[str, NDArray[Any]]) -> NDArray[np.bool_]:
        """Truth value per draw.

        Parameters
        ----------
        values
            Variable name -> array whose first axis is the draw (further axes
            are the variable's own, e.g. ``(dyad, side)``).

        Returns
        -------
        numpy.ndarray
            Boolean, one per draw.

        Raises
        ------
        ValueError
            If a name is missing, or the result is not one truth value per draw.
        """
        missing = sorted(self.names - set(values))
        if missing:
            raise ValueError(
                f"mode {self.name!r}: unknown variable(s) {missing} in {self.text!r}; "
                f"available: {sorted(values)}"
            )
        n = len(next(iter(values[v] for v in self.names))) if self.names else None
        out = np.asarray(self._eval(self._tree.body, values))
        if n is None or out.shape != (n,):
            raise ValueError(
                f"mode {self.name!r}: {self.text!r} must give one truth value per draw, got "
                f"shape {out.shape}; reduce per-state variables (mean(w)) or index them (w[0, 1])"
            )
        return out.astype(bool)

    def _eval(self, node: ast.AST, values: Mapping[str, NDArray[Any]]) -> Any:
        match node:
            case ast.BoolOp(op=ast.And(), values=vs):
                out = self._eval(vs[0], values)
                for v in vs[1:]:
                    out = np.logical_and(out, self._eval(v, values))
                return out
            case ast.BoolOp(values=vs):  # Or
                out = self._eval(vs[0], values)
                for v in vs[1:]:
                    out = np.logical_or(out, self._eval(v, values))
                return out
            case ast.UnaryOp(op=ast.Not() | ast.Invert(), operand=x):
                return np.logical_not(self._eval(x, values))
            case ast.UnaryOp(op=ast.USub(), operand=x):
                return np.negative(self._eval(x, values))
            case ast.UnaryOp(operand=x):
                return self._eval(x, values)
            case ast.BinOp(left=a, op=op, right=b):
                return _ARITHMETIC[type(op)](self._eval(a, values), self._eval(b, values))
            case ast.Compare(left=a, ops=ops, comparators=rest):
                left, out = self._eval(a, values), True
                for op, c in zip(ops, rest, strict=True):
                    right = self._eval(c, values)
                    out = np.logical_and(out, _COMPARISONS[type(op)](left, right))
                    left = right
                return out
            case ast.Call(func=ast.Name(id=fn), args=[arg]):
                x = np.asarray(self._eval(arg, values), dtype=float)
                if fn in _ELEMENTWISE:
                    return _ELEMENTWISE[fn](x)
                return _REDUCTIONS[fn](x.reshape(len(x), -1), axis=1) if x.ndim > 1 else x
            case ast.Subscript(value=ast.Name(id=var), slice=index):
                items = index.elts if isinstance(index, ast.Tuple) else [index]
                x = np.asarray(values[var])
                position = tuple(int(i.value) for i in items)  # type: ignore[attr-defined]
                if len(position) != x.ndim - 1:
                    raise ValueError(
                        f"mode {self.name!r}: {var} has {x.ndim - 1} dimension(s) besides the "
                        f"draw, {len(position)} index(es) given in {self.text!r}"
                    )
                return x[(slice(None), *position)]
            case ast.Name(id=var):
                return np.asarray(values[var])
            case ast.Constant(value=v):
                return v
        raise self._fail(type(node).__name__)  # unreachable: _check refused it


@dataclass(frozen=True)
class Mode:
    """A named mode: an expression or a callable."""

    name: str
    spec: ModeSpec

    @property
    def expression(self) -> ModeExpression | None:
        """The parsed expression, or ``None`` for a callable."""
        return ModeExpression(self.spec, self.name) if isinstance(self.spec, str) else None

    def describe(self) -> str:
        """Text for the record: the expression, or the callable's name."""
        if isinstance(self.spec, str):
            return self.spec
        return f"callable {getattr(self.spec, '__qualname__', repr(self.spec))}"


def as_modes(modes: Mapping[str, ModeSpec]) -> list[Mode]:
    """Check a ``{name: expression or callable}`` mapping; parse the expressions.

    Raises
    ------
    ValueError
        If a name is empty or an expression is invalid.
    TypeError
        If a definition is neither a string nor callable.
    """
    out = []
    for name, spec in modes.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"modes: names must be non-empty strings, got {name!r}")
        if isinstance(spec, str):
            ModeExpression(spec, name)  # fails now, not after sampling
        elif not callable(spec):
            raise TypeError(f"mode {name!r}: expected an expression or a callable, got {spec!r}")
        out.append(Mode(name, spec))
    return out


def _draw_values(posterior: xr.Dataset, names: set[str]) -> dict[str, NDArray[Any]]:
    """``name -> (chain * draw, ...)`` arrays of the named posterior variables."""
    out = {}
    for name in names:
        if name not in posterior:
            raise ValueError(
                f"modes: unknown variable {name!r}; posterior variables: "
                f"{sorted(posterior.data_vars)}"
            )
        da = posterior[name].transpose("chain", "draw", ...)
        out[name] = np.asarray(da.values).reshape(-1, *da.shape[2:])
    return out


def membership(posterior: xr.Dataset, modes: list[Mode]) -> dict[str, NDArray[np.bool_]]:
    """Which draws lie in each mode, ``(chain, draw)`` booleans per mode.

    Parameters
    ----------
    posterior
        Posterior draws with dims ``(chain, draw, ...)``.
    modes
        From :func:`as_modes`.

    Returns
    -------
    dict
        Mode name -> boolean array ``(chain, draw)``.
    """
    shape = (posterior.sizes["chain"], posterior.sizes["draw"])
    out = {}
    for mode in modes:
        expression = mode.expression
        if expression is not None:
            inside = expression.evaluate(_draw_values(posterior, expression.names))
        else:
            inside = mode.spec(posterior)  # type: ignore[operator]
            inside = np.asarray(getattr(inside, "values", inside))
        inside = np.broadcast_to(np.asarray(inside, dtype=bool).reshape(-1), (math.prod(shape),))
        out[mode.name] = inside.reshape(shape)
    return out


def pooled(per_chain: list[float], log_evidence: list[float] | None = None) -> dict[str, Any]:
    """Pool per-chain estimates: a weighted mean and its standard error across chains.

    With ``log_evidence`` (each chain's log marginal likelihood estimate
    ``log Z_c``) the chains are weighted by ``Z_c``: SMC's ``Z_c`` times its
    chain's estimate is an unbiased estimate of ``Z`` times the posterior
    expectation, so ``sum Z_c m_c / sum Z_c`` converges to the posterior value
    as chains are added, while the plain mean keeps each chain's finite-particle
    bias (a run that missed part of a mode has both less mass there and a lower
    ``Z_c``). Without, equal weights. Standard error by the delta method,
    ``sqrt(K / (K - 1) * sum_c w_c^2 (m_c - m)^2)``, which is ``sd / sqrt(K)``
    for equal weights; ``None`` with one chain.

    Returns
    -------
    dict
        ``per_chain``, ``mean`` (weighted), ``se``, ``spread`` (max - min over
        chains), ``equal_weight_mean``.
    """
    values = np.asarray(per_chain, dtype=float)
    k = len(values)
    if log_evidence is None:
        w = np.full(k, 1.0 / k)
    else:
        log_w = np.asarray(log_evidence, dtype=float)
        w = np.exp(log_w - log_w.max())
        w /= w.sum()
    mean = float(w @ values)
    se = float(np.sqrt(k / (k - 1) * np.sum(w**2 * (values - mean) ** 2))) if k > 1 else None
    return {
        "per_chain": [round(float(v), 6) for v in values],
        "mean": round(mean, 6),
        "se": None if se is None else round(se, 6),
        "spread": round(float(np.ptp(values)), 6),
        "equal_weight_mean": round(float(values.mean()), 6),
    }


def mode_masses(
    posterior: xr.Dataset,
    modes: list[Mode],
    weights: NDArray[np.float64] | None = None,
    log_evidence: list[float] | None = None,
) -> dict[str, Any]:
    """Mass of each mode per chain and pooled over chains, with a standard error.

    The mass of a mode in a chain is the weighted share of its draws inside
    the mode (``weights`` ``(chain, draw)``, normalised per chain; equal
    weights by default, as for the final, resampled SMC particles). Pooled
    over chains by :func:`pooled`: weighted by each chain's marginal
    likelihood if ``log_evidence`` is given (independent SMC runs), else
    equally.

    Returns
    -------
    dict
        ``masses``: mode -> ``{per_chain, mean, se, spread, equal_weight_mean}``;
        ``unassigned``: the same for draws in no mode; ``overlap``: whether
        some draw is in two modes; ``chain_weights``: the pooling weights.
    """
    inside = membership(posterior, modes)
    shape = (posterior.sizes["chain"], posterior.sizes["draw"])
    w = np.ones(shape) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.sum(axis=1, keepdims=True)
    masses = {name: pooled(list((w * m).sum(axis=1)), log_evidence) for name, m in inside.items()}
    count = sum((m.astype(int) for m in inside.values()), np.zeros(shape, dtype=int))
    if log_evidence is None:
        chain_weights = np.full(shape[0], 1.0 / shape[0])
    else:
        log_w = np.asarray(log_evidence, dtype=float)
        chain_weights = np.exp(log_w - log_w.max()) / np.exp(log_w - log_w.max()).sum()
    return {
        "masses": masses,
        "unassigned": pooled(list((w * (count == 0)).sum(axis=1)), log_evidence),
        "overlap": bool((count > 1).any()),
        "chain_weights": [round(float(v), 6) for v in chain_weights],
    }


def _unconstrained(x: NDArray[np.float64]) -> tuple[NDArray[np.float64], str]:
    """Draws on the scale a sampler moves them on: log, logit or as they are."""
    if np.all(x > 0) and np.all(x < 1):
        return logit(x), "logit"
    if np.all(x > 0):
        return np.log(x), "log"
    return x, "identity"


def _back(value: float, scale: str) -> float:
    return {"logit": lambda v: float(expit(v)), "log": math.exp}.get(scale, float)(value)


def _deepest_valley(x: NDArray[np.float64]) -> dict[str, float] | None:
    """The deepest valley between two peaks of a kernel density of ``x`` (module docstring)."""
    x = x[np.isfinite(x)]
    n_unique = len(np.unique(x))  # resampled particles repeat: count each value once
    sd = float(np.std(x))
    if n_unique < 20 or sd == 0:
        return None
    iqr = float(np.subtract(*np.percentile(x, [75, 25])))
    spread = min(sd, iqr / 1.349) if iqr > 0 else sd
    bandwidth = 0.9 * spread * n_unique ** (-0.2)
    grid = np.linspace(x.min() - 3 * bandwidth, x.max() + 3 * bandwidth, SPLIT_GRID)
    # Binned Gaussian KDE: histogram on the grid, convolved with the kernel.
    step = grid[1] - grid[0]
    counts = np.histogram(x, bins=SPLIT_GRID, range=(grid[0] - step / 2, grid[-1] + step / 2))[0]
    half = int(np.ceil(4 * bandwidth / step))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) * step / bandwidth) ** 2)
    density = np.convolve(counts, kernel / kernel.sum(), mode="same")
    peaks = [i for i in range(1, SPLIT_GRID - 1) if density[i - 1] < density[i] >= density[i + 1]]
    best = None
    for a, b in itertools.pairwise(peaks):
        valley = a + int(np.argmin(density[a : b + 1]))
        dip = float(density[valley] / min(density[a], density[b]))
        below = float(np.mean(x < grid[valley]))
        if min(below, 1 - below) < SPLIT_MIN_MASS or dip > SPLIT_MAX_DIP:
            continue
        if best is None or dip < best["dip"]:
            best = {"dip": dip, "at": float(grid[valley]), "below": below}
    return best


def find_mode_split(posterior: xr.Dataset, candidates: list[str] | None = None) -> dict[str, Any]:
    """A data-driven split into two modes along one scalar parameter (module docstring).

    Parameters
    ----------
    posterior
        Draws ``(chain, draw, ...)``, pooled over chains.
    candidates
        Scalar variables to consider (default: every variable with dims
        ``(chain, draw)`` only).

    Returns
    -------
    dict
        ``found`` (bool); if found, ``parameter``, ``threshold`` (natural
        scale), ``scale`` (``log``, ``logit``, ``identity``), ``dip`` (valley
        density over the lower peak's), ``share_below`` and ``modes``: two
        expressions ``{"<p>_low": "<p> < t", "<p>_high": "<p> >= t"}``.
        Always ``considered``: the candidates and, per candidate with a valley,
        its dip.
    """
    if candidates is None:
        candidates = [
            str(v) for v, da in posterior.data_vars.items() if da.dims == ("chain", "draw")
        ]
    found: dict[str, Any] = {"found": False, "considered": {}}
    best_dip = None
    for name in candidates:
        x, scale = _unconstrained(np.asarray(posterior[name].values, dtype=float).reshape(-1))
        valley = _deepest_valley(x)
        found["considered"][name] = None if valley is None else round(valley["dip"], 4)
        if valley is None or (best_dip is not None and valley["dip"] >= best_dip):
            continue
        best_dip = valley["dip"]
        threshold = float(f"{_back(valley['at'], scale):.3g}")
        found.update(
            found=True,
            parameter=name,
            threshold=threshold,
            scale=scale,
            dip=round(valley["dip"], 4),
            share_below=round(valley["below"], 4),
            modes={
                f"{name}_low": f"{name} < {threshold!r}",
                f"{name}_high": f"{name} >= {threshold!r}",
            },
        )
    return found
