"""A deliberately naive, independent reference of DESIGN §3-4: plain Python loops and ``math``.

The oracle of ``tests/test_engine.py``. Nothing here calls the package: the
ordered-logistic probabilities are differences of sigmoids straight from their
definition, the belief recursion and the action model are loops over draws,
dyads, sides and years, the intent and configuration marginals are written
out with ``math.log`` / ``math.exp``. Slow on purpose; use small panels.

Conventions: ``params`` is a list with one dict per draw, holding ``beta,
gamma, delta, pi`` (floats), ``cutpoints`` (three floats), ``alpha``
``[dyad][side]``, and ``l0, w, s`` ``[dyad][side]`` (one configuration) or,
per configuration, ``[k][dyad][side]`` with ``log_prior[k]``.
"""

import math


def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def prob(m, eta, c):
    """P(m | eta) = sigmoid(eta - c[m-1]) - sigmoid(eta - c[m]), with c[-1] = -inf, c[3] = inf."""
    lower = 1.0 if m == 0 else sigmoid(eta - c[m - 1])
    upper = 0.0 if m == 3 else sigmoid(eta - c[m])
    return lower - upper


def draw_move(eta, c, u):
    """Inverse CDF: the number of cumulative probabilities P(m <= k) that u exceeds."""
    return sum(1 for k in range(3) if u > sigmoid(c[k] - eta))


def evidence(m_other, x_own_lag, b_other_lag, s, beta, gamma, delta, c):
    eta0 = s * (gamma * x_own_lag + beta * b_other_lag)
    return math.log(prob(m_other, eta0 + delta, c)) - math.log(prob(m_other, eta0, c))


def forward(p, tau, uniforms, observed, given=None, n_given=0):
    """One draw's run: p has per-state alpha, l0, w, s [dyad][side]; uniforms[t][d][i].

    Returns moves, log-odds and evidence as nested lists [dyad][side][year].
    """
    n_years = len(uniforms)
    n_dyads = len(p["alpha"])
    c = p["cutpoints"]
    move = [[[0] * n_years for _ in range(2)] for _ in range(n_dyads)]
    lo = [[[0.0] * n_years for _ in range(2)] for _ in range(n_dyads)]
    ev = [[[0.0] * n_years for _ in range(2)] for _ in range(n_dyads)]
    for d in range(n_dyads):
        for t in range(n_years):
            for i in (0, 1):
                j = 1 - i
                if t == 0:
                    lo[d][i][0] = p["l0"][d][i]
                    if n_given > 0:
                        move[d][i][0] = given[d][i][0]
                    else:
                        eta = (
                            p["alpha"][d][i]
                            + p["beta"] * sigmoid(p["l0"][d][i])
                            + p["delta"] * tau[d][i]
                        )
                        move[d][i][0] = draw_move(eta, c, uniforms[0][d][i])
                    continue
                x_other = move[d][j][t - 1] - 1.0 if observed[d][j][t - 1] else 0.0
                b_own = sigmoid(lo[d][i][t - 1])
                if t < n_given:
                    move[d][i][t] = given[d][i][t]
                else:
                    eta = (
                        p["alpha"][d][i]
                        + p["beta"] * b_own
                        + p["gamma"] * x_other
                        + p["delta"] * tau[d][i]
                    )
                    move[d][i][t] = draw_move(eta, c, uniforms[t][d][i])
            for i in (0, 1):
                if t == 0:
                    continue
                j = 1 - i
                x_own = move[d][i][t - 1] - 1.0 if observed[d][i][t - 1] else 0.0
                if observed[d][j][t]:
                    e = evidence(
                        move[d][j][t],
                        x_own,
                        sigmoid(lo[d][j][t - 1]),
                        p["s"][d][i],
                        p["beta"],
                        p["gamma"],
                        p["delta"],
                        c,
                    )
                else:
                    e = 0.0
                ev[d][i][t] = e
                lo[d][i][t] = lo[d][i][t - 1] + (e if e >= 0 else p["w"][d][i] * e)
    return move, lo, ev


def recursion(move, observed, l0, w, s, beta, gamma, delta, c):
    """Belief log-odds [dyad][side][year] of observed moves."""
    n_dyads, n_years = len(move), len(move[0][0])
    lo = [[[0.0] * n_years for _ in range(2)] for _ in range(n_dyads)]
    for d in range(n_dyads):
        for i in (0, 1):
            lo[d][i][0] = l0[d][i]
        for t in range(1, n_years):
            for i in (0, 1):
                j = 1 - i
                x_own = move[d][i][t - 1] - 1.0 if observed[d][i][t - 1] else 0.0
                if observed[d][j][t]:
                    e = evidence(
                        move[d][j][t],
                        x_own,
                        sigmoid(lo[d][j][t - 1]),
                        s[d][i],
                        beta,
                        gamma,
                        delta,
                        c,
                    )
                else:
                    e = 0.0
                lo[d][i][t] = lo[d][i][t - 1] + (e if e >= 0 else w[d][i] * e)
    return lo


def dyad_likelihood(move, observed, p, configurations):
    """Per configuration k: intent log-likelihoods, marginals, P(malign | k); the weights.

    ``configurations`` is a list of dicts with ``l0, w, s`` [dyad][side] and
    ``log_prior``. Returns a dict of nested lists: ``ll[k][d][i][tau]``,
    ``marginal[k][d][i]``, ``p_malign[k][d][i]``, ``weights[k][d]``,
    ``dyad_ll[d]``, ``belief[k][d][i][t]``.
    """
    n_dyads, n_years = len(move), len(move[0][0])
    c = p["cutpoints"]
    out = {"ll": [], "marginal": [], "p_malign": [], "belief": [], "config_ll": []}
    for conf in configurations:
        lo = recursion(
            move, observed, conf["l0"], conf["w"], conf["s"], p["beta"], p["gamma"], p["delta"], c
        )
        b = [[[sigmoid(v) for v in side] for side in dyad] for dyad in lo]
        ll_k, marg_k, pm_k, cll_k = [], [], [], []
        for d in range(n_dyads):
            ll_d, marg_d, pm_d = [], [], []
            for i in (0, 1):
                j = 1 - i
                sums = [0.0, 0.0]
                for tau in (0, 1):
                    for t in range(1, n_years):
                        if not observed[d][i][t]:
                            continue
                        x_other = move[d][j][t - 1] - 1.0 if observed[d][j][t - 1] else 0.0
                        eta = (
                            p["alpha"][d][i]
                            + p["beta"] * b[d][i][t - 1]
                            + p["gamma"] * x_other
                            + p["delta"] * tau
                        )
                        sums[tau] += math.log(prob(move[d][i][t], eta, c))
                a0 = math.log(1 - p["pi"]) + sums[0]
                a1 = math.log(p["pi"]) + sums[1]
                top = max(a0, a1)
                marg = top + math.log(math.exp(a0 - top) + math.exp(a1 - top))
                ll_d.append(sums)
                marg_d.append(marg)
                pm_d.append(math.exp(a1 - marg))
            ll_k.append(ll_d)
            marg_k.append(marg_d)
            pm_k.append(pm_d)
            cll_k.append(conf["log_prior"] + marg_d[0] + marg_d[1])
        out["ll"].append(ll_k)
        out["marginal"].append(marg_k)
        out["p_malign"].append(pm_k)
        out["belief"].append(b)
        out["config_ll"].append(cll_k)
    out["dyad_ll"], out["weights"] = [], [[0.0] * n_dyads for _ in configurations]
    for d in range(n_dyads):
        values = [cll[d] for cll in out["config_ll"]]
        top = max(values)
        total = top + math.log(sum(math.exp(v - top) for v in values))
        out["dyad_ll"].append(total)
        for k, v in enumerate(values):
            out["weights"][k][d] = math.exp(v - total)
    return out
