"""Parameters of the DESIGN §3 model, the named belief regimes, and their checks.

The shared *action* parameters (``beta, gamma, delta, cutpoints``) say how states
move; the per-observer *belief* parameters (``l0, w, s``) say how a state reads
the other. Both are plain frozen dataclasses so they serialise to netCDF attrs
and JSON without custom code.

Default action parameters (``beta = 2, gamma = 0.6, delta = 1,
c = (-1.5, 1, 3), alpha = 0``): with a neutral belief (``b = 0.5``) and the other
holding, a benign state has ``eta = 1`` and moves de-escalate / hold / build-up /
militarized with probabilities 0.08 / 0.42 / 0.38 / 0.12: arming is common
but not automatic, a malign state (``eta = 2``) builds up or worse 73 % of the
time, and a state certain of the other's malice (``b = 1``) 73 % of the time even
when benign. These are the values MEASUREMENTS.md prototypes recovered from
12 x 60 panels, so they are identified at the panel sizes this package targets.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

IntentName = Literal["benign", "malign"]
INTENTS: dict[str, int] = {"benign": 0, "malign": 1}
"""Names of the true intent ``tau``: 0 benign (security seeker), 1 malign (greedy)."""


def logit(p: float) -> float:
    """Log-odds of a probability ``p`` in (0, 1)."""
    return math.log(p / (1.0 - p))


@dataclass(frozen=True)
class ActionParams:
    """Shared parameters of the action model (DESIGN §3).

    Parameters
    ----------
    beta
        Fear: weight of the actor's own belief ``b[i, t-1]`` (> 0).
    gamma
        Reactivity: weight of the other's last move ``x[j, t-1]`` (>= 0).
    delta
        Extra escalation of a malign state (> 0).
    cutpoints
        The three increasing ordered-logistic cutpoints ``c``.
    """

    beta: float = 2.0
    gamma: float = 0.6
    delta: float = 1.0
    cutpoints: tuple[float, float, float] = (-1.5, 1.0, 3.0)

    def __post_init__(self) -> None:
        check_action(self.beta, self.gamma, self.delta, self.cutpoints)
        object.__setattr__(self, "cutpoints", tuple(float(c) for c in self.cutpoints))

    def as_dict(self) -> dict[str, Any]:
        """Plain-Python view, e.g. for netCDF attrs."""
        return asdict(self)


@dataclass(frozen=True)
class BeliefParams:
    """How an observer forms beliefs about the other (DESIGN §2-3).

    Parameters
    ----------
    l0
        Prior log-odds that the other is malign.
    w
        Discount on reassuring evidence, in (0, 1]; 1 is unbiased.
    s
        Security-dilemma sensibility, in [0, 1].
    """

    l0: float
    w: float
    s: float
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        check_belief(self.l0, self.w, self.s)


def intent_code(name: str | float) -> int:
    """Code an intent name (``benign``/``malign``) or 0/1 (number or text) as ``tau``."""
    if isinstance(name, (int, float, np.number)) and not isinstance(name, bool):
        if float(name) in (0.0, 1.0):
            return int(name)
    key = str(name).strip().lower()
    if key in ("0", "1"):
        return int(key)
    try:
        return INTENTS[key]
    except KeyError:
        raise ValueError(
            f"intent: unknown intent {name!r}; expected 'benign', 'malign', 0 or 1"
        ) from None


def check_action(beta: float, gamma: float, delta: float, cutpoints: ArrayLike) -> None:
    """Validate shared action parameters, naming the offending one.

    The ranges are DESIGN §3's: fear ``beta > 0``, reactivity ``gamma >= 0``,
    malign escalation ``delta > 0``. With ``delta = 0`` the two intents move
    alike, every move is evidence 0 and beliefs never leave their prior; a
    negative ``beta`` or ``delta`` turns fear into reassurance and malice into
    restraint, which no variant's prior allows.

    Raises
    ------
    ValueError
        If a parameter is not a finite number, out of its range, or the
        cutpoints are not three strictly increasing numbers.
    """
    for name, value in (("beta", beta), ("gamma", gamma), ("delta", delta)):
        try:
            finite = bool(np.isfinite(value)) and np.ndim(value) == 0
        except TypeError:
            finite = False
        if not finite:
            raise ValueError(f"{name}: must be a finite number, got {value!r}")
    if not beta > 0:
        raise ValueError(f"beta: fear must be > 0, got {beta!r}")
    if gamma < 0:
        raise ValueError(f"gamma: reactivity must be >= 0, got {gamma!r}")
    if not delta > 0:
        raise ValueError(f"delta: malign escalation must be > 0, got {delta!r}")
    check_cutpoints(cutpoints)


MAX_SEED = 2**63 - 1
"""Largest seed accepted: seeds are stored as 64-bit integers (netCDF attrs, nutpie)."""


def check_seed(seed: object, name: str = "seed") -> int:
    """Return ``seed`` as an ``int`` after checking it is a whole number in ``[0, MAX_SEED]``.

    Raises
    ------
    ValueError
        If ``seed`` is not an integer, is negative or exceeds :data:`MAX_SEED`.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"{name}: expected a whole number >= 0, got {seed!r}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"{name}: expected a whole number in [0, 2**63 - 1], got {seed!r}")
    return int(seed)


def check_cutpoints(cutpoints: ArrayLike) -> NDArray[np.float64]:
    """Return the cutpoints as a float array after checking them.

    Raises
    ------
    ValueError
        Unless ``cutpoints`` holds three finite, strictly increasing numbers.
    """
    c = np.asarray(cutpoints, dtype=float)
    if c.shape != (3,):
        raise ValueError(f"cutpoints: expected 3 values c[0] < c[1] < c[2], got shape {c.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError(f"cutpoints: must be finite, got {c.tolist()}")
    if not np.all(np.diff(c) > 0):
        raise ValueError(f"cutpoints: must be strictly increasing, got {c.tolist()}")
    return c


def check_belief(l0: ArrayLike, w: ArrayLike, s: ArrayLike) -> None:
    """Validate belief parameters (any shape), naming the offending one.

    Raises
    ------
    ValueError
        If ``l0`` is not finite, ``w`` is outside (0, 1] or ``s`` outside [0, 1].
    """
    l0, w, s = (np.asarray(v, dtype=float) for v in (l0, w, s))
    if not np.all(np.isfinite(l0)):
        raise ValueError(
            f"l0: prior log-odds must be finite, got {_offending(l0, ~np.isfinite(l0))}"
        )
    if not np.all((w > 0) & (w <= 1)):
        raise ValueError(
            f"w: discount must lie in (0, 1], got {_offending(w, ~((w > 0) & (w <= 1)))}"
        )
    if not np.all((s >= 0) & (s <= 1)):
        raise ValueError(
            f"s: sensibility must lie in [0, 1], got {_offending(s, ~((s >= 0) & (s <= 1)))}"
        )


def _offending(values: NDArray[np.float64], bad: NDArray[np.bool_]) -> str:
    """The values for an error message: all of a few, else the first bad one and a count."""
    if values.size <= 12:
        return str(values.tolist())
    return f"{values[bad].ravel()[0]!r} ({int(bad.sum())} of {values.size} values out of range)"


REGIMES: dict[str, BeliefParams] = {
    "misplaced_certainty": BeliefParams(
        l0=logit(0.85),
        w=0.3,
        s=0.0,
        description="pessimistic prior (b0 = 0.85), reassurance discounted (w = 0.3), "
        "no sensibility (s = 0)",
    ),
    "sensible": BeliefParams(
        l0=0.0,
        w=1.0,
        s=1.0,
        description="neutral prior (b0 = 0.5), unbiased (w = 1), full sensibility (s = 1)",
    ),
    "insensible": BeliefParams(
        l0=0.0,
        w=1.0,
        s=0.0,
        description="neutral prior, unbiased (w = 1), but no sensibility (s = 0)",
    ),
}
"""The named belief regimes of issue #2 / DESIGN §3."""


def regime(name: str) -> BeliefParams:
    """Look up a named belief regime.

    Parameters
    ----------
    name
        One of :data:`REGIMES`.

    Returns
    -------
    BeliefParams

    Raises
    ------
    ValueError
        If the name is unknown; the message lists the known names.
    """
    try:
        return REGIMES[name]
    except KeyError:
        raise ValueError(
            f"beliefs: unknown belief regime {name!r}; expected one of {sorted(REGIMES)}"
        ) from None
