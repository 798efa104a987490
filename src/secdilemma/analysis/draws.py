"""A fit read into flat per-draw NumPy arrays: the input of the generative engine.

:func:`read_fit` turns a fit (an ArviZ :class:`xarray.DataTree`, names from
:mod:`secdilemma.model.schema`) into

- :class:`FitData`: the moves the model saw (left-aligned, ``(dyad, side,
  year)``), their masks, and each dyad's calendar first year and last period;
- :class:`Draws`: the posterior draws stacked on one ``sample`` axis
  (``chain``-major, so ``sample = chain * n_draws + draw``), laid out on the
  engine's frame ``(sample, configuration, dyad, side)`` of
  :mod:`secdilemma.core.action`, with size-1 axes where a parameter does not
  vary: ``beta, gamma, delta, pi`` are ``(S, 1, 1, 1)``, ``cutpoints`` ``(S, 1,
  1, 1, 3)``, ``alpha`` ``(S, 1, D, 2)``, the belief parameters ``l0, w, s``
  ``(S, K, D, 2)`` and ``log_prior`` ``(S, K, 1)``. A fit with grouped shares
  (``fit(..., group_by=...)``) has ``pi`` ``(S, 1, D, 1)`` and ``log_prior``
  ``(S, K, D)``: each dyad its group's shares.

Both kinds of variant go through this one layout:

per-state belief parameters (``free``, ``sensible``, ``misplaced_certainty``)
    ``l0, w, s[dyad, side]`` per draw; one configuration (``K = 1``) with log
    prior weight 0;
observer regimes (``mixture``, DESIGN §4)
    ``regime_l0, regime_w, regime_s[regime]`` and ``regime_share[regime]`` per
    draw; the ``K = R**2`` joint configurations ``(r0, r1)`` of the two sides
    (coordinate ``configuration_regime[configuration, side]``, side 1's regime
    varying fastest), each with side ``i``'s beliefs those of regime ``r_i``
    and log prior weight ``log P(r0) + log P(r1)``.

A dyad's likelihood is then, for both kinds, the logsumexp over
configurations of [log prior + the sides' intent-marginalised sequence
log-likelihoods under that configuration's beliefs]
(:mod:`secdilemma.analysis.likelihood`).

Subsampling (``max_draws``) keeps the same draw indices in every chain, chosen
with a seeded generator, so replicates keep the ``(chain, draw)`` layout of
ArviZ. Nothing here imports PyMC.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from secdilemma.core.parameters import check_belief
from secdilemma.core.recursion import as_moves, check_action_arrays
from secdilemma.model import schema
from secdilemma.panel import left_align, validate_panel


@dataclass(frozen=True)
class FitData:
    """The data a fit was made from, as the model saw them.

    Attributes
    ----------
    dyad
        Dyad ids ``(dyad,)``.
    move
        Left-aligned moves ``(dyad, side, year)`` (``int8``, 0 where unobserved).
    observed
        ``True`` where the move is observed.
    modelled
        ``True`` where the move enters the likelihood (observed, period >= 1).
    first_year
        Calendar year of each dyad's period 0.
    last_period
        Each dyad's last period with an observed move.
    state
        State names ``(dyad, side)`` when a panel was given, else ``None``.
    """

    dyad: NDArray[np.str_]
    move: NDArray[np.int8]
    observed: NDArray[np.bool_]
    modelled: NDArray[np.bool_]
    first_year: NDArray[np.int64]
    last_period: NDArray[np.int64]
    state: NDArray[np.str_] | None = None

    @property
    def n_dyads(self) -> int:
        """Number of dyads."""
        return int(self.move.shape[0])

    @property
    def n_years(self) -> int:
        """Number of periods (the longest dyad)."""
        return int(self.move.shape[2])

    def move_or_nan(self) -> NDArray[np.float64]:
        """Moves as floats, NaN where unobserved."""
        return np.where(self.observed, self.move, np.nan)

    def modelled_or_nan(self) -> NDArray[np.float64]:
        """Moves that enter the likelihood, NaN elsewhere (what is replicated)."""
        return np.where(self.modelled, self.move, np.nan)

    def dyad_index(self, dyad: str) -> int:
        """Position of a dyad id.

        Raises
        ------
        ValueError
            If the dyad is not in the fit; the message lists the fit's dyads.
        """
        names = [str(d) for d in self.dyad]
        if str(dyad) not in names:
            raise ValueError(f"dyad: {dyad!r} is not in the fit; its dyads are {names}")
        return names.index(str(dyad))

    def select(self, index: Sequence[int]) -> FitData:
        """The data of some dyads (by position)."""
        idx = np.asarray(index, dtype=int)
        return FitData(
            dyad=self.dyad[idx],
            move=self.move[idx],
            observed=self.observed[idx],
            modelled=self.modelled[idx],
            first_year=self.first_year[idx],
            last_period=self.last_period[idx],
            state=None if self.state is None else self.state[idx],
        )

    def labels(self) -> list[list[str]]:
        """Each dyad's two state names, or ``side 0`` / ``side 1`` without a panel."""
        if self.state is None:
            return [["side 0", "side 1"] for _ in self.dyad]
        return [[str(s) for s in row] for row in self.state]


@dataclass(frozen=True)
class Draws:
    """Posterior draws on the engine's frame ``(sample, configuration, dyad, side)``.

    Attributes
    ----------
    data
        The fit's data.
    chain, draw
        Coordinate values of the chains and of the (selected) draws;
        ``sample = chain_position * len(draw) + draw_position``.
    beta, gamma, delta, pi
        ``(S, 1, 1, 1)``.
    cutpoints
        ``(S, 1, 1, 1, 3)``.
    alpha
        ``(S, 1, D, 2)``.
    l0, w, s
        ``(S, K, D, 2)``: each configuration's beliefs of each observer.
    log_prior
        ``(S, K, 1)``: ``log P(configuration)`` (0 for ``K = 1``).
    regimes
        Regime names (empty for per-state belief parameters).
    configuration_regime
        ``(K, 2)``: each side's regime (index into ``regimes``) per
        configuration; ``[[-1, -1]]`` for per-state belief parameters.
    """

    data: FitData
    chain: NDArray
    draw: NDArray
    beta: NDArray[np.float64]
    gamma: NDArray[np.float64]
    delta: NDArray[np.float64]
    pi: NDArray[np.float64]
    cutpoints: NDArray[np.float64]
    alpha: NDArray[np.float64]
    l0: NDArray[np.float64]
    w: NDArray[np.float64]
    s: NDArray[np.float64]
    log_prior: NDArray[np.float64]
    regimes: tuple[str, ...]
    configuration_regime: NDArray[np.int64]

    @property
    def n_samples(self) -> int:
        """Number of draws ``S`` on the sample axis."""
        return int(self.beta.shape[0])

    @property
    def n_configurations(self) -> int:
        """Number of joint configurations ``K`` of the two sides' regimes (1 without regimes)."""
        return int(self.l0.shape[1])

    @property
    def has_regimes(self) -> bool:
        """Whether the beliefs come from observer regimes (DESIGN §4)."""
        return bool(self.regimes)

    def unstack(self, values: NDArray) -> NDArray:
        """Reshape a leading ``sample`` axis to ``(chain, draw)``."""
        return values.reshape(len(self.chain), len(self.draw), *values.shape[1:])

    def take(self, samples: slice) -> Draws:
        """The draws of a slice of the sample axis (for chunked computations)."""
        fields = ("beta", "gamma", "delta", "pi", "cutpoints", "alpha", "l0", "w", "s", "log_prior")
        return replace(self, **{f: getattr(self, f)[samples] for f in fields})

    def chunks(self, size: int) -> Iterator[tuple[slice, Draws]]:
        """Consecutive slices of at most ``size`` samples, with their draws."""
        for start in range(0, self.n_samples, size):
            part = slice(start, min(start + size, self.n_samples))
            yield part, self.take(part)

    def select_dyads(self, index: Sequence[int]) -> Draws:
        """The draws of some dyads (by position); shared parameters unchanged.

        Grouped shares (``pi`` ``(S, 1, D, 1)``, ``log_prior`` ``(S, K, D)``) are
        per dyad and selected with the dyads; ungrouped ones (a dyad axis of
        length 1) are shared.
        """
        idx = np.asarray(index, dtype=int)

        def per_dyad(values: NDArray[np.float64]) -> NDArray[np.float64]:
            return values[:, :, idx] if values.shape[2] != 1 else values

        return replace(
            self,
            data=self.data.select(idx),
            alpha=self.alpha[:, :, idx],
            l0=self.l0[:, :, idx],
            w=self.w[:, :, idx],
            s=self.s[:, :, idx],
            pi=per_dyad(self.pi),
            log_prior=per_dyad(self.log_prior),
        )

    def configured(self, configuration: NDArray[np.intp]) -> tuple[NDArray, NDArray, NDArray]:
        """``l0, w, s`` of one configuration per draw and dyad, ``(S, 1, D, 2)``.

        Parameters
        ----------
        configuration
            ``(S, D)`` configuration indices.
        """
        index = np.asarray(configuration)[:, None, :, None]
        return tuple(  # type: ignore[return-value]
            np.take_along_axis(np.asarray(v), index, axis=1) for v in (self.l0, self.w, self.s)
        )


def _stack(values: xr.DataArray, chains: NDArray, draw_index: NDArray) -> NDArray[np.float64]:
    """``(chain, draw, ...)`` -> ``(sample, ...)`` for the selected draws."""
    values = values.transpose(schema.CHAIN, schema.DRAW, ...)
    array = np.asarray(values.values, dtype=float)[:, draw_index]
    return array.reshape(len(chains) * len(draw_index), *array.shape[2:])


def fit_data(fit: xr.DataTree, panel: xr.Dataset | None = None) -> FitData:
    """The data of a fit, from its ``constant_data`` group, optionally checked against a panel.

    Parameters
    ----------
    fit
        A fit with a ``constant_data`` group (``move_aligned``, ``first_year``,
        ``last_period``).
    panel
        The panel the fit is meant to describe. Its dyads must include the
        fit's and, left-aligned, give the same moves; its ``state`` coordinate
        names the states.

    Returns
    -------
    FitData

    Raises
    ------
    ValueError
        If the group or a variable is missing, the moves are not 0..3 or NaN,
        or the panel is not the one the fit was made from (naming the first
        dyad that differs).
    """
    if schema.CONSTANT_DATA not in fit.children:
        raise ValueError("fit: no 'constant_data' group; not a secdilemma fit?")
    constant = fit[schema.CONSTANT_DATA].to_dataset()
    for name in (schema.MOVE_ALIGNED, schema.FIRST_YEAR, schema.LAST_PERIOD):
        if name not in constant:
            raise ValueError(f"fit: constant_data lacks {name!r}; not a secdilemma fit?")
    aligned = constant[schema.MOVE_ALIGNED].transpose(*schema.PATH_DIMS).values
    move, observed = as_moves(aligned, name="fit constant_data move_aligned")
    n_years = move.shape[2]
    modelled = observed.copy()
    modelled[:, :, 0] = False
    dyad = np.asarray([str(d) for d in constant[schema.DYAD].values])
    data = FitData(
        dyad=dyad,
        move=move,
        observed=observed,
        modelled=modelled,
        first_year=np.asarray(constant[schema.FIRST_YEAR].values, dtype=np.int64),
        last_period=np.asarray(constant[schema.LAST_PERIOD].values, dtype=np.int64),
    )
    if panel is None:
        return data
    panel = validate_panel(panel)
    names = [str(d) for d in panel[schema.DYAD].values]
    missing = sorted(set(dyad) - set(names))
    if missing:
        raise ValueError(
            f"panel: is not the panel this fit was made from: it lacks the fit's dyads {missing}"
        )
    panel = panel.sel(dyad=list(dyad))
    theirs, first = left_align(panel)
    years = np.asarray(panel["year"].values)
    for d, name in enumerate(dyad):
        beyond = ~np.isnan(theirs[d, :, n_years:])
        same = np.array_equal(theirs[d, :, :n_years], aligned[d], equal_nan=True)
        if not same or beyond.any() or years[first[d]] != data.first_year[d]:
            raise ValueError(
                f"panel: is not the panel this fit was made from: the moves of dyad {name!r} "
                "differ from those the fit saw"
            )
    state = panel["state"].transpose(schema.DYAD, schema.SIDE).values if "state" in panel else None
    return replace(data, state=None if state is None else state.astype(str))


def _regime_indices(posterior: xr.Dataset, regimes: list[str]) -> NDArray[np.int64]:
    """``configuration_regime[configuration, side]`` as regime indices."""
    n = len(regimes)
    if schema.CONFIGURATION_REGIME not in posterior.coords:
        # The schema's order: side 1's regime varies fastest.
        return np.array([[r0, r1] for r0 in range(n) for r1 in range(n)], dtype=np.int64)
    table = posterior[schema.CONFIGURATION_REGIME].transpose(schema.CONFIGURATION, schema.SIDE)
    values = np.asarray(table.values)
    if values.dtype.kind in "iu":
        index = values.astype(np.int64)
    else:
        unknown = sorted({str(v) for v in values.ravel()} - set(regimes))
        if unknown:
            raise ValueError(
                f"fit: configuration_regime names regimes {unknown} that are not in the "
                f"regime coordinate {regimes}"
            )
        index = np.vectorize(lambda v: regimes.index(str(v)), otypes=[np.int64])(values)
    if index.min() < 0 or index.max() >= n:
        raise ValueError(f"fit: configuration_regime indices must lie in 0..{n - 1}")
    return index


def draw_index(n_draws: int, max_draws: int | None, seed: int = 0) -> NDArray[np.intp]:
    """Positions of the draws kept per chain: all, or ``max_draws`` chosen with ``seed``, sorted.

    Raises
    ------
    ValueError
        If ``max_draws`` is not a positive integer.
    """
    index = np.arange(n_draws)
    if max_draws is not None:
        if int(max_draws) != max_draws or max_draws < 1:
            raise ValueError(f"max_draws: must be a positive integer, got {max_draws!r}")
        if max_draws < n_draws:
            rng = np.random.default_rng(seed)
            index = np.sort(rng.choice(n_draws, size=int(max_draws), replace=False))
    return index


def read_fit(
    fit: xr.DataTree,
    *,
    max_draws: int | None = None,
    seed: int = 0,
    panel: xr.Dataset | None = None,
) -> Draws:
    """Read a fit's posterior draws (and data) onto the engine's frame.

    Parameters
    ----------
    fit
        A fit (:func:`secdilemma.fit`, :func:`secdilemma.load_fit`, or a fake
        posterior with the same names).
    max_draws
        Keep at most this many draws per chain, the same randomly chosen draw
        indices in every chain (in their original order); default all.
    seed
        Seed of the draw selection.
    panel
        Optional panel to check the fit against and to name the states
        (:func:`fit_data`).

    Returns
    -------
    Draws

    Raises
    ------
    ValueError
        If a group or variable is missing, the posterior's dyads are not the
        data's, a parameter is out of range, or ``max_draws`` is not positive.
    """
    data = fit_data(fit, panel)
    if schema.POSTERIOR not in fit.children:
        raise ValueError("fit: no 'posterior' group")
    posterior = fit[schema.POSTERIOR].to_dataset()
    regime_fit = schema.REGIME_PARAMETERS["l0"] in posterior
    needed = [*schema.ACTION_PARAMETERS, schema.PI, schema.ALPHA]
    needed += (
        [*schema.REGIME_PARAMETERS.values(), schema.REGIME_SHARE]
        if regime_fit
        else list(schema.BELIEF_PARAMETERS)
    )
    lacking = [n for n in needed if n not in posterior]
    if lacking:
        raise ValueError(f"fit: posterior lacks {lacking}")
    theirs = [str(d) for d in posterior[schema.DYAD].values]
    if theirs != [str(d) for d in data.dyad]:
        raise ValueError(
            f"fit: posterior dyads {theirs} differ from constant_data dyads {data.dyad.tolist()}"
        )

    chains = np.asarray(posterior[schema.CHAIN].values)
    draws = np.asarray(posterior[schema.DRAW].values)
    index = draw_index(len(draws), max_draws, seed)

    def get(name: str, dims: tuple[str, ...] = ()) -> NDArray[np.float64]:
        return _stack(posterior[name].transpose(schema.CHAIN, schema.DRAW, *dims), chains, index)

    n = len(chains) * len(index)
    shared = {k: get(k).reshape(n, 1, 1, 1) for k in ("beta", "gamma", "delta")}
    if schema.DYAD in posterior[schema.PI].dims:  # grouped shares: each dyad its group's
        shared[schema.PI] = get(schema.PI, (schema.DYAD,)).reshape(n, 1, data.n_dyads, 1)
    else:
        shared[schema.PI] = get(schema.PI).reshape(n, 1, 1, 1)
    cutpoints = get("cutpoints", (schema.CUTPOINT,)).reshape(n, 1, 1, 1, 3)
    alpha = get(schema.ALPHA, schema.STATE_DIMS)[:, None]
    check_action_arrays(shared["beta"], shared["gamma"], shared["delta"], cutpoints)
    if np.any((shared[schema.PI] <= 0) | (shared[schema.PI] >= 1)):
        raise ValueError("fit: pi (share of malign states) must lie in (0, 1)")
    if not np.all(np.isfinite(alpha)):
        raise ValueError("fit: alpha must be finite")

    shape = (n, 1, data.n_dyads, 2)
    if not regime_fit:
        l0, w, s = (get(k, schema.STATE_DIMS)[:, None] for k in schema.BELIEF_PARAMETERS)
        log_prior = np.zeros((n, 1, 1))
        regimes: tuple[str, ...] = ()
        configuration_regime = np.array([[-1, -1]], dtype=np.int64)
    else:
        regimes = tuple(str(r) for r in posterior[schema.REGIME].values)
        configuration_regime = _regime_indices(posterior, list(regimes))
        k = len(configuration_regime)
        shape = (n, k, data.n_dyads, 2)
        per_regime = {
            p: get(v, (schema.REGIME,)) for p, v in schema.REGIME_PARAMETERS.items()
        }  # (S, R)
        # Side i of configuration k reads with the beliefs of regime configuration_regime[k, i].
        l0, w, s = (
            np.broadcast_to(per_regime[p][:, configuration_regime][:, :, None, :], shape)
            for p in schema.BELIEF_PARAMETERS
        )
        if schema.DYAD in posterior[schema.REGIME_SHARE].dims:  # grouped: (S, dyad, R)
            share = get(schema.REGIME_SHARE, (schema.DYAD, schema.REGIME))
        else:
            share = get(schema.REGIME_SHARE, (schema.REGIME,))[:, None, :]
        if np.any(share <= 0) or np.any(np.abs(share.sum(axis=-1) - 1) > 1e-8):
            raise ValueError("fit: regime_share must be positive and sum to 1 over regimes")
        log_share = np.log(share)  # (S, dyad or 1, R) -> log prior (S, K, dyad or 1)
        log_prior = np.moveaxis(
            log_share[:, :, configuration_regime[:, 0]]
            + log_share[:, :, configuration_regime[:, 1]],
            1,
            2,
        )
    l0, w, s = (np.broadcast_to(v, shape) for v in (l0, w, s))
    check_belief(l0, w, s)
    return Draws(
        data=data,
        chain=chains,
        draw=draws[index],
        cutpoints=cutpoints,
        alpha=alpha,
        l0=l0,
        w=w,
        s=s,
        log_prior=log_prior,
        regimes=regimes,
        configuration_regime=configuration_regime,
        **shared,
    )
