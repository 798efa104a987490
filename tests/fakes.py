"""Fake posteriors built with ``xarray.DataTree.from_dict``: analysis tested without a sampler.

:func:`fake_fit` gives a panel and per-draw parameter values the groups a fit
has (``posterior`` with the names of :mod:`secdilemma.model.schema`,
``constant_data`` as the builder derives it, ``observed_data``). The belief
parameters are either per state (``l0, w, s`` over ``(dyad, side)``) or, with
``regimes=``, observer regimes (``regime_l0/w/s[regime]``, ``regime_share``,
the ``configuration_regime`` coordinate).
"""

import numpy as np
import xarray as xr

from secdilemma.panel import left_align

SHARED = ("beta", "gamma", "delta", "pi")


def constant_data(panel):
    """``constant_data`` as :meth:`secdilemma.model.builder.ModelData.constant_data` writes it."""
    aligned, first = left_align(panel)
    observed = ~np.isnan(aligned)
    last = np.array([np.flatnonzero(row).max() for row in observed.any(axis=1)])
    n_years = int(last.max()) + 1
    aligned = aligned[:, :, :n_years]
    dyad = [str(d) for d in panel["dyad"].values]
    coords = {"dyad": dyad, "side": [0, 1], "year": np.arange(n_years)}
    return xr.Dataset(
        {
            "move_aligned": (("dyad", "side", "year"), aligned),
            "first_year": ("dyad", np.asarray(panel["year"].values)[first].astype(np.int64)),
            "last_period": ("dyad", last.astype(np.int64)),
        },
        coords=coords,
    )


def fake_fit(panel, values, n_chains=1, n_draws=1, regimes=None):
    """A fake fit of ``panel``.

    ``values`` maps each posterior variable to an array whose leading axis is
    the flat sample (``n_chains * n_draws`` long, chain-major) or to a single
    value repeated for every draw: ``beta, gamma, delta, pi`` (scalars), ``cutpoints`` (3),
    ``alpha`` (dyad, side), and ``l0, w, s`` (dyad, side) or, with
    ``regimes`` (names), ``regime_l0, regime_w, regime_s, regime_share``
    (regime).
    """
    constant = constant_data(panel)
    n_dyads = constant.sizes["dyad"]
    n = n_chains * n_draws
    coords = {
        "chain": np.arange(n_chains),
        "draw": np.arange(n_draws),
        "dyad": constant["dyad"].values,
        "side": [0, 1],
        "cutpoint": [0, 1, 2],
    }
    dims = {
        **{k: () for k in SHARED},
        "cutpoints": ("cutpoint",),
        "alpha": ("dyad", "side"),
        "l0": ("dyad", "side"),
        "w": ("dyad", "side"),
        "s": ("dyad", "side"),
        "regime_l0": ("regime",),
        "regime_w": ("regime",),
        "regime_s": ("regime",),
        "regime_share": ("regime",),
    }
    event_shape = {
        (): (),
        ("cutpoint",): (3,),
        ("dyad", "side"): (n_dyads, 2),
        ("regime",): (len(regimes or ()),),
    }
    post = {}
    for name, value in values.items():
        event = event_shape[dims[name]]
        v = np.asarray(value, dtype=float)
        if v.shape == event:
            v = np.broadcast_to(v, (n, *event))
        post[name] = (("chain", "draw", *dims[name]), v.reshape(n_chains, n_draws, *event))
    if regimes is not None:
        coords["regime"] = list(regimes)
        k = len(regimes)
        table = np.array([[r0, r1] for r0 in range(k) for r1 in range(k)])
        coords["configuration"] = np.arange(k * k)
        coords["configuration_regime"] = (
            ("configuration", "side"),
            np.asarray(regimes, dtype=object)[table].astype(str),
        )
    observed = np.where(
        ~np.isnan(constant["move_aligned"].values), constant["move_aligned"].values, -1
    ).astype(np.int64)
    observed[:, :, 0] = -1
    return xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset(post, coords=coords),
            "constant_data": constant,
            "observed_data": xr.Dataset(
                {"move": (("dyad", "side", "year"), observed)}, coords=constant.coords
            ),
        }
    )


def true_values(panel):
    """The parameters a simulated panel was drawn with, as ``fake_fit`` values (one draw)."""
    return {
        "beta": panel.attrs["beta"],
        "gamma": panel.attrs["gamma"],
        "delta": panel.attrs["delta"],
        "cutpoints": np.asarray(panel.attrs["cutpoints"], dtype=float),
        "pi": 0.5,
        "alpha": panel["alpha"].values,
        "l0": panel["l0"].values,
        "w": panel["w"].values,
        "s": panel["s"].values,
    }
