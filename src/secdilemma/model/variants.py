"""Model variants as data: priors and fixed values per parameter (DESIGN §4).

A *variant* says, for every parameter of the hierarchical model, either which
prior it has or at which value it is fixed. The three named variants of
DESIGN §4 ship as TOML files next to this module
(``secdilemma/model/variants/{free,sensible,misplaced_certainty}.toml``); a user
defines a new variant by copying one of them, changing it and passing its path
(or a :class:`Variant`, or a plain mapping of the same content) wherever a
variant name is accepted. No package code has to change.

File format::

    name = "my_variant"
    description = "what it reads as"

    [priors]
    beta = { dist = "Gamma", alpha = 2.0, beta = 1.0 }
    cutpoints = { dist = "Normal", mu = [-2.0, 0.5, 3.0], sigma = 2.0 }
    mu_w = { dist = "Normal", mu = -1.0, sigma = 1.0 }
    ...

    [fixed]
    s = 0.0

Parameters (:data:`PARAMETERS`):

- shared: ``beta`` (> 0), ``gamma`` (>= 0), ``delta`` (> 0), ``cutpoints``
  (three, ordered), ``pi`` (share of malign states, in (0, 1));
- hierarchy, per observing state ``i`` (non-centred)::

      alpha[i] = sigma_alpha * z_alpha[i]
      l0[i]    = mu_l0 + sigma_l0 * z_l0[i]
      w[i]     = sigmoid(mu_w + sigma_w * z_w[i])
      s[i]     = sigmoid(mu_s + sigma_s * z_s[i])

  A per-state parameter ``l0``, ``w`` or ``s`` may instead be *fixed* (one value
  for every state): then its ``mu_``/``sigma_`` hyperparameters must not be
  given (and its ``z`` is not sampled).

Every parameter must be given exactly once, in ``[priors]`` or ``[fixed]``.
Bad specifications fail with :class:`VariantError` (a :class:`ValueError`)
whose message names the variant and the offending key.

**Observer regimes** (DESIGN §4, the ``mixture`` variant). A variant with a
``[regimes]`` table replaces the per-state hierarchy of ``l0, w, s`` by named
regimes, each with population-level ``l0``, ``w`` and ``s``, every one either
a number (fixed) or a prior table; each observing state is in one regime,
marginalised exactly::

    [regimes.sensible]
    l0 = { dist = "Normal", mu = 0.0, sigma = 0.5 }
    w = 1.0
    s = 1.0

    [regimes.misplaced_certainty]
    l0 = { dist = "Normal", mu = 1.7346, sigma = 0.5 }
    w = { dist = "Beta", alpha = 2.0, beta = 3.0 }
    s = 0.0

Regimes are listed in order; names are lower-case identifiers, unique, at
least two. With two regimes, ``rho`` (in ``[priors]``, e.g. ``Beta(2, 2)``, or
in ``[fixed]``, a number in [0, 1]) is the share of states in the *second*
regime; with more, ``regime_share`` is a ``Dirichlet`` prior (``a``: one
positive number per regime) or fixed shares summing to 1. A share fixed at 0
removes its regime from the model, so ``rho = 0`` (or 1) gives a model in
which every state is in one regime, nested in the mixture: the bundled
``sensible`` and ``misplaced_certainty`` variants are the two ends of
``mixture``. With regimes, the hyperparameters ``mu_*``/``sigma_*`` of ``l0, w,
s`` and fixed per-state values are not given. A prior on ``w`` or ``s`` must
have support in (0, 1) (``Beta``); a fixed ``w`` lies in (0, 1], ``s`` in [0, 1].
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

Support = Literal[
    "real", "nonnegative", "positive", "unit", "ordered", "discount", "unit_closed", "simplex"
]
"""Ranges of parameters: ``discount`` is (0, 1], ``unit_closed`` [0, 1], ``unit`` (0, 1),
``simplex`` shares that sum to 1."""

PARAMETERS: dict[str, Support] = {
    "beta": "positive",
    "gamma": "nonnegative",
    "delta": "positive",
    "cutpoints": "ordered",
    "pi": "unit",
    "sigma_alpha": "positive",
    "mu_l0": "real",
    "sigma_l0": "positive",
    "mu_w": "real",
    "sigma_w": "positive",
    "mu_s": "real",
    "sigma_s": "positive",
}
"""Parameters that take a prior (or a fixed value), with their support."""

PER_STATE: dict[str, Support] = {"l0": "real", "w": "discount", "s": "unit_closed"}
"""Per-state parameters that may be fixed (for every state) instead of modelled; also the
parameters of an observer regime."""

REGIME_SHARES: dict[str, Support] = {"rho": "unit", "regime_share": "simplex"}
"""Shares of the regimes: ``rho`` with two regimes, ``regime_share`` with more."""

GROUP_HYPERPARAMETERS: dict[str, Support] = {
    "mu_pi": "real",
    "sigma_pi": "positive",
    "mu_rho": "real",
    "sigma_rho": "positive",
}
"""Optional priors of shares that vary by a group of dyads (``fit(..., group_by=...)``):
``logit share[g] = mu + sigma z[g]``; defaults in :data:`secdilemma.model.builder.GROUP_PRIORS`."""

SHARED: tuple[str, ...] = ("beta", "gamma", "delta", "cutpoints", "pi", "sigma_alpha")
"""Parameters every variant specifies (the action model and the intent share)."""

HYPERPARAMETERS: dict[str, tuple[str, str]] = {
    "l0": ("mu_l0", "sigma_l0"),
    "w": ("mu_w", "sigma_w"),
    "s": ("mu_s", "sigma_s"),
}
"""The population mean and scale of each per-state parameter."""


@dataclass(frozen=True)
class Family:
    """A prior family a variant may use: its PyMC name, arguments and support.

    Attributes
    ----------
    args
        Required arguments, in the PyMC spelling.
    support
        Support of the distribution (``real``, ``positive`` or ``unit``).
    location_args
        Arguments that may take any finite value; all others must be > 0.
    """

    args: tuple[str, ...]
    support: Support
    location_args: tuple[str, ...] = ()


FAMILIES: dict[str, Family] = {
    "Normal": Family(("mu", "sigma"), "real", ("mu",)),
    "StudentT": Family(("nu", "mu", "sigma"), "real", ("mu",)),
    "HalfNormal": Family(("sigma",), "positive"),
    "HalfStudentT": Family(("nu", "sigma"), "positive"),
    "Exponential": Family(("lam",), "positive"),
    "Gamma": Family(("alpha", "beta"), "positive"),
    "LogNormal": Family(("mu", "sigma"), "positive", ("mu",)),
    "Beta": Family(("alpha", "beta"), "unit"),
    "Dirichlet": Family(("a",), "simplex"),
}
"""Prior families (Bambi-style declarative table): name -> arguments and support."""

# Which prior supports fit inside which parameter supports.
_FITS: dict[Support, set[Support]] = {
    "real": {"real", "positive", "unit"},
    "nonnegative": {"positive", "unit"},
    "positive": {"positive", "unit"},
    "unit": {"unit"},
    "ordered": {"real"},
    "discount": {"unit"},
    "unit_closed": {"unit"},
    "simplex": {"simplex"},
}

REGIME_NAME = re.compile(r"[a-z][a-z0-9_]*")
"""Regime names: lower-case identifiers (they name variables such as ``l0_sensible``)."""


class VariantError(ValueError):
    """A variant specification is invalid; the message names the key."""


@dataclass(frozen=True)
class Prior:
    """A prior: a family from :data:`FAMILIES` and its arguments.

    For ``cutpoints`` the arguments may be lists of three (one per cutpoint).
    """

    dist: str
    args: dict[str, float | list[float]]

    def as_dict(self) -> dict[str, Any]:
        """``{"dist": ..., **args}``, the TOML/JSON form."""
        return {"dist": self.dist, **self.args}


@dataclass(frozen=True, eq=False)
class Variant:
    """A model variant: a prior or a fixed value for every parameter.

    Build one with :func:`load_variant` (name, path, mapping) or
    :meth:`Variant.from_dict`; construction validates the specification.

    Attributes
    ----------
    name, description
        Identification (stored with every fit).
    priors
        Parameter name -> :class:`Prior`.
    fixed
        Parameter name -> fixed value (a list of three for ``cutpoints``).
    regimes
        Observer regimes, in order: regime name -> ``{"l0", "w", "s"}`` ->
        :class:`Prior` or fixed value (empty for variants without regimes).
    """

    name: str
    description: str = ""
    priors: dict[str, Prior] = field(default_factory=dict)
    fixed: dict[str, float | list[float]] = field(default_factory=dict)
    regimes: dict[str, dict[str, Prior | float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _validate(self)

    def __eq__(self, other: object) -> bool:
        """Same specification, regimes in the same order (the order gives ``rho`` its meaning)."""
        if not isinstance(other, Variant):
            return NotImplemented
        return self.as_dict() == other.as_dict() and list(self.regimes) == list(other.regimes)

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any], *, source: str | None = None) -> Variant:
        """Build a variant from its TOML/JSON form, validating it.

        Parameters
        ----------
        spec
            Mapping with ``name``, optional ``description``, and tables
            ``priors`` (parameter -> ``{"dist": family, **args}``) and ``fixed``
            (parameter -> value).
        source
            Where the specification came from (e.g. a path), for messages.

        Raises
        ------
        VariantError
            On unknown top-level keys or malformed tables; see :func:`_validate`
            for the parameter-level checks.
        """
        where = source or repr(spec.get("name", "<unnamed>"))
        unknown = set(spec) - {"name", "description", "priors", "fixed", "regimes"}
        if unknown:
            raise VariantError(
                f"variant {where}: unknown key(s) {sorted(unknown)}; "
                "expected name, description, priors, fixed, regimes"
            )
        if "name" not in spec or not isinstance(spec["name"], str) or not spec["name"]:
            raise VariantError(f"variant {where}: 'name' must be a non-empty string")
        priors_spec = spec.get("priors", {})
        fixed_spec = spec.get("fixed", {})
        for key, table in (("priors", priors_spec), ("fixed", fixed_spec)):
            if not isinstance(table, Mapping):
                raise VariantError(f"variant {where}: '{key}' must be a table")
        priors = {
            param: _prior(f"variant {where}: priors.{param}", prior)
            for param, prior in priors_spec.items()
        }
        fixed = {k: _plain(v) for k, v in fixed_spec.items()}
        regimes_spec = spec.get("regimes", {})
        if not isinstance(regimes_spec, Mapping):
            raise VariantError(f"variant {where}: 'regimes' must be a table of regime tables")
        regimes: dict[str, dict[str, Prior | float]] = {}
        for regime, table in regimes_spec.items():
            key = f"variant {where}: regimes.{regime}"
            if not isinstance(table, Mapping):
                raise VariantError(f"{key}: must be a table of l0, w and s, got {table!r}")
            regimes[regime] = {
                param: _prior(f"{key}.{param}", value)
                if isinstance(value, Mapping)
                else _plain(value)
                for param, value in table.items()
            }
        try:
            return cls(
                name=spec["name"],
                description=str(spec.get("description", "")),
                priors=priors,
                fixed=fixed,
                regimes=regimes,
            )
        except VariantError as err:
            if source is None:
                raise
            raise VariantError(f"{err} (in {source})") from None

    @classmethod
    def from_toml(cls, path: str | Path) -> Variant:
        """Read and validate a variant TOML file.

        Raises
        ------
        VariantError
            If the file is not valid TOML or not a valid variant.
        """
        path = Path(path)
        try:
            spec = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            hint = ""
            if "regimes" in str(err) and ("twice" in str(err) or "overwrite" in str(err)):
                hint = " (two regimes with the same name: regime names must be unique)"
            raise VariantError(f"variant file {path}: invalid TOML: {err}{hint}") from None
        except UnicodeDecodeError:
            raise VariantError(f"variant file {path}: not a text (TOML) file") from None
        return cls.from_dict(spec, source=str(path))

    def as_dict(self) -> dict[str, Any]:
        """The TOML/JSON form (inverse of :meth:`from_dict`)."""
        out = {
            "name": self.name,
            "description": self.description,
            "priors": {k: p.as_dict() for k, p in self.priors.items()},
            "fixed": dict(self.fixed),
        }
        if self.regimes:
            out["regimes"] = {
                regime: {k: v.as_dict() if isinstance(v, Prior) else v for k, v in table.items()}
                for regime, table in self.regimes.items()
            }
        return out

    def to_json(self) -> str:
        """JSON form, stored in the attrs of every fit.

        Keys keep their order (not sorted): the order of the regimes is part of
        the specification (``rho`` is the share of the second).
        """
        return json.dumps(self.as_dict())

    def is_fixed(self, param: str) -> bool:
        """Whether a parameter (e.g. ``"s"``) is fixed rather than modelled."""
        return param in self.fixed

    @property
    def has_regimes(self) -> bool:
        """Whether observers form beliefs in named regimes (DESIGN §4, ``mixture``)."""
        return bool(self.regimes)

    def fixed_shares(self) -> list[float] | None:
        """The regimes' shares if fixed (``rho`` or ``regime_share``), else ``None``."""
        if "rho" in self.fixed:
            rho = float(self.fixed["rho"])  # type: ignore[arg-type]
            return [1.0 - rho, rho]
        if "regime_share" in self.fixed:
            return [float(v) for v in self.fixed["regime_share"]]  # type: ignore[union-attr]
        return None

    def active_regimes(self) -> list[str]:
        """Regimes with a positive share: those a fixed share of 0 does not remove."""
        shares = self.fixed_shares()
        names = list(self.regimes)
        return names if shares is None else [r for r, p in zip(names, shares, strict=True) if p > 0]


def _plain(value: Any) -> float | list[float]:
    """Numbers (or lists of numbers) as plain floats; anything else unchanged."""
    if isinstance(value, bool):
        return value  # type: ignore[return-value]  # rejected later, with the key
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]  # type: ignore[misc]
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def _prior(key: str, spec: Any) -> Prior:
    """A :class:`Prior` from its table ``{"dist": family, **args}`` (``key`` for messages)."""
    if not isinstance(spec, Mapping) or "dist" not in spec:
        raise VariantError(f"{key} must be a table with a 'dist' key, got {spec!r}")
    args = {k: _plain(v) for k, v in spec.items() if k != "dist"}
    return Prior(dist=str(spec["dist"]), args=args)


def _check_prior(key: str, param: str, prior: Prior, support: Support, size: int = 1) -> None:
    """Check one prior: known family, arguments, support, vector length.

    ``key`` names the entry in messages (``variant 'x': priors.beta``); ``size``
    is the length of a vector parameter (3 cutpoints, one share per regime).
    """
    family = FAMILIES.get(prior.dist)
    if family is None:
        raise VariantError(
            f"{key}: unknown distribution {prior.dist!r}; expected one of {sorted(FAMILIES)}"
        )
    missing = set(family.args) - set(prior.args)
    extra = set(prior.args) - set(family.args)
    if missing or extra:
        raise VariantError(
            f"{key}: {prior.dist} takes arguments {list(family.args)}; "
            f"missing {sorted(missing)}, unknown {sorted(extra)}"
        )
    if family.support not in _FITS[support]:
        raise VariantError(
            f"{key}: a {prior.dist} prior (support {family.support}) does not fit "
            f"{param}, whose support is {support}"
        )
    for arg, value in prior.args.items():
        values = value if isinstance(value, list) else [value]
        if support == "simplex" and not (isinstance(value, list) and len(value) == size):
            raise VariantError(f"{key}.{arg}: expected a list of {size} (one per regime)")
        if size > 1 and isinstance(value, list) and len(value) != size:
            raise VariantError(
                f"{key}.{arg}: expected one number or a list of {size}, got {value!r}"
            )
        if size == 1 and isinstance(value, list):
            raise VariantError(f"{key}.{arg}: expected a number, got {value!r}")
        if not all(_is_number(v) for v in values):
            raise VariantError(f"{key}.{arg}: expected finite number(s), got {value!r}")
        if arg not in family.location_args and not all(v > 0 for v in values):
            raise VariantError(f"{key}.{arg}: must be > 0, got {value!r}")
    if param == "cutpoints":
        mu = prior.args.get("mu")
        if not (isinstance(mu, list) and mu[0] < mu[1] < mu[2]):
            raise VariantError(
                f"{key}.mu: the ordered cutpoints need three strictly increasing prior "
                f"means (distinct means replace an initial value), got {mu!r}"
            )


_RANGES: dict[Support, tuple[Any, str]] = {
    "positive": (lambda v: v > 0, "> 0"),
    "nonnegative": (lambda v: v >= 0, ">= 0"),
    "unit": (lambda v: 0 < v < 1, "in (0, 1)"),
    "discount": (lambda v: 0 < v <= 1, "in (0, 1]"),
    "unit_closed": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "real": (lambda v: True, "finite"),
}
"""Support -> (test of a fixed value, words for the message)."""


def _check_fixed(key: str, param: str, value: Any, support: Support, size: int = 1) -> None:
    """Check one fixed value against its support (``key`` names it in messages)."""
    if param == "cutpoints":
        ok = (
            isinstance(value, list)
            and len(value) == 3
            and all(_is_number(v) for v in value)
            and value[0] < value[1] < value[2]
        )
        if not ok:
            raise VariantError(f"{key}: expected 3 strictly increasing numbers, got {value!r}")
        return
    if support == "simplex":
        ok = (
            isinstance(value, list)
            and len(value) == size
            and all(_is_number(v) and v >= 0 for v in value)
            and math.isclose(sum(value), 1.0, abs_tol=1e-9)
        )
        if not ok:
            raise VariantError(
                f"{key}: expected {size} shares >= 0 summing to 1 (one per regime), got {value!r}"
            )
        return
    if not _is_number(value):
        raise VariantError(f"{key}: expected a finite number, got {value!r}")
    test, text = _RANGES[support]
    if not test(value):
        raise VariantError(f"{key}: must be {text}, got {value!r}")


def _check_regimes(variant: Variant) -> None:
    """Check the ``[regimes]`` table and the regimes' share (module docstring)."""
    name = variant.name
    regimes = variant.regimes
    if len(regimes) < 2:
        raise VariantError(
            f"variant {name!r}: regimes: a mixture needs at least two regimes, got "
            f"{list(regimes)}; for a single regime fix its l0, w, s in [fixed] instead"
        )
    seen: dict[str, str] = {}
    for regime, table in regimes.items():
        key = f"variant {name!r}: regimes.{regime}"
        if not REGIME_NAME.fullmatch(regime):
            raise VariantError(f"{key}: regime names must be lower-case identifiers ([a-z0-9_])")
        if regime.lower() in seen:
            raise VariantError(f"{key}: two regimes with the same name ({seen[regime.lower()]!r})")
        seen[regime.lower()] = regime
        unknown = sorted(set(table) - set(PER_STATE))
        if unknown:
            raise VariantError(
                f"{key}.{unknown[0]}: unknown parameter; a regime sets {sorted(PER_STATE)}"
            )
        missing = sorted(set(PER_STATE) - set(table))
        if missing:
            raise VariantError(f"{key}.{missing[0]}: no prior and no fixed value")
        for param, value in table.items():
            support = PER_STATE[param]
            if isinstance(value, Prior):
                _check_prior(f"{key}.{param}", param, value, support)
            else:
                _check_fixed(f"{key}.{param}", param, value, support)
    n = len(regimes)
    share = "rho" if n == 2 else "regime_share"
    other = "regime_share" if n == 2 else "rho"
    where = "priors" if other in variant.priors else "fixed" if other in variant.fixed else None
    if where:
        raise VariantError(
            f"variant {name!r}: {where}.{other}: with {n} regimes the share is {share!r}"
        )
    if share in variant.priors:
        _check_prior(f"variant {name!r}: priors.{share}", share, variant.priors[share],
                     REGIME_SHARES[share], size=n if n > 2 else 1)  # fmt: skip
    elif share in variant.fixed:
        support: Support = "unit_closed" if n == 2 else "simplex"
        _check_fixed(f"variant {name!r}: fixed.{share}", share, variant.fixed[share], support, n)
    else:
        raise VariantError(
            f"variant {name!r}: {share}: no prior and no fixed value (the share of the regimes)"
        )


def _validate(variant: Variant) -> None:
    """Check a variant: known keys, one specification per parameter, valid values.

    Raises
    ------
    VariantError
        Naming the variant and the key (``priors.X``, ``fixed.X`` or
        ``regimes.R.X``).
    """
    name = variant.name
    known = set(PARAMETERS) | set(PER_STATE) | set(GROUP_HYPERPARAMETERS)
    known |= set(REGIME_SHARES) if variant.regimes else set()
    for table, keys in (("priors", variant.priors), ("fixed", variant.fixed)):
        for key in keys:
            if key not in known:
                hint = " (only with a [regimes] table)" if key in REGIME_SHARES else ""
                raise VariantError(
                    f"variant {name!r}: {table}.{key}: unknown parameter{hint}; "
                    f"expected one of {sorted(known)}"
                )
    for key in variant.priors:
        if key in PER_STATE:
            raise VariantError(
                f"variant {name!r}: priors.{key}: per-state parameter; give priors to "
                f"{' and '.join(HYPERPARAMETERS[key])} or a value in [fixed]"
            )
    both = set(variant.priors) & set(variant.fixed)
    if both:
        raise VariantError(
            f"variant {name!r}: {sorted(both)[0]} has both a prior and a fixed value"
        )
    required = set(PARAMETERS)
    if variant.regimes:
        required = set(SHARED)
        given = sorted(
            (set(variant.priors) | set(variant.fixed))
            - set(SHARED)
            - set(REGIME_SHARES)
            - set(GROUP_HYPERPARAMETERS)
        )
        if given:
            table = "priors" if given[0] in variant.priors else "fixed"
            raise VariantError(
                f"variant {name!r}: {table}.{given[0]}: with [regimes] the belief parameters "
                "are set per regime (regimes.NAME.l0, .w, .s), not per state"
            )
        _check_regimes(variant)
    for per_state, hyper in HYPERPARAMETERS.items():
        if per_state in variant.fixed:
            given = [h for h in hyper if h in variant.priors or h in variant.fixed]
            if given:
                raise VariantError(
                    f"variant {name!r}: {given[0]}: {per_state} is fixed, so its "
                    f"hyperparameter {given[0]} must not be given"
                )
            required -= set(hyper)
    missing = sorted(required - set(variant.priors) - set(variant.fixed))
    if missing:
        raise VariantError(
            f"variant {name!r}: {missing[0]}: no prior and no fixed value (missing: {missing})"
        )
    for param, prior in variant.priors.items():
        if param in REGIME_SHARES:
            continue  # checked with the regimes
        size = 3 if param == "cutpoints" else 1
        support = PARAMETERS.get(param) or GROUP_HYPERPARAMETERS[param]
        _check_prior(f"variant {name!r}: priors.{param}", param, prior, support, size)
    for param, value in variant.fixed.items():
        if param in REGIME_SHARES:
            continue
        support = PARAMETERS.get(param) or PER_STATE.get(param) or GROUP_HYPERPARAMETERS[param]
        _check_fixed(f"variant {name!r}: fixed.{param}", param, value, support)


def variant_dir() -> Path:
    """Directory of the bundled variant TOML files."""
    return Path(str(files("secdilemma.model") / "variants"))


def available_variants() -> list[str]:
    """Names of the bundled variants."""
    return sorted(p.stem for p in variant_dir().glob("*.toml"))


def load_variant(variant: str | Path | Variant | Mapping[str, Any]) -> Variant:
    """Resolve a variant given by name, path, mapping or object.

    Parameters
    ----------
    variant
        A bundled name (:func:`available_variants`), a path to a TOML file,
        a mapping in the TOML form, or a :class:`Variant` (returned as is).

    Returns
    -------
    Variant

    Raises
    ------
    VariantError
        If the name is neither bundled nor an existing file, or the
        specification is invalid.
    """
    if isinstance(variant, Variant):
        return variant
    if isinstance(variant, Mapping):
        return Variant.from_dict(variant)
    path = Path(variant)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise VariantError(f"variant file {path}: not found")
        return Variant.from_toml(path)
    bundled = variant_dir() / f"{variant}.toml"
    if not bundled.is_file():
        raise VariantError(
            f"variant: unknown variant {str(variant)!r}; expected one of "
            f"{available_variants()} or a path to a .toml file"
        )
    return Variant.from_toml(bundled)
