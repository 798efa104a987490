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
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

Support = Literal["real", "nonnegative", "positive", "unit", "ordered", "discount", "unit_closed"]
"""Ranges of parameters: ``discount`` is (0, 1], ``unit_closed`` [0, 1], ``unit`` (0, 1)."""

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
"""Per-state parameters that may be fixed (for every state) instead of modelled."""

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
}
"""Prior families (Bambi-style declarative table): name -> arguments and support."""

# Which prior supports fit inside which parameter supports.
_FITS: dict[Support, set[Support]] = {
    "real": {"real", "positive", "unit"},
    "nonnegative": {"positive", "unit"},
    "positive": {"positive", "unit"},
    "unit": {"unit"},
    "ordered": {"real"},
}


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


@dataclass(frozen=True)
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
    """

    name: str
    description: str = ""
    priors: dict[str, Prior] = field(default_factory=dict)
    fixed: dict[str, float | list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _validate(self)

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
        unknown = set(spec) - {"name", "description", "priors", "fixed"}
        if unknown:
            raise VariantError(
                f"variant {where}: unknown key(s) {sorted(unknown)}; "
                "expected name, description, priors, fixed"
            )
        if "name" not in spec or not isinstance(spec["name"], str) or not spec["name"]:
            raise VariantError(f"variant {where}: 'name' must be a non-empty string")
        priors_spec = spec.get("priors", {})
        fixed_spec = spec.get("fixed", {})
        for key, table in (("priors", priors_spec), ("fixed", fixed_spec)):
            if not isinstance(table, Mapping):
                raise VariantError(f"variant {where}: '{key}' must be a table")
        priors = {}
        for param, prior in priors_spec.items():
            if not isinstance(prior, Mapping) or "dist" not in prior:
                raise VariantError(
                    f"variant {where}: priors.{param} must be a table with a 'dist' key, "
                    f"got {prior!r}"
                )
            args = {k: _plain(v) for k, v in prior.items() if k != "dist"}
            priors[param] = Prior(dist=str(prior["dist"]), args=args)
        fixed = {k: _plain(v) for k, v in fixed_spec.items()}
        try:
            return cls(
                name=spec["name"],
                description=str(spec.get("description", "")),
                priors=priors,
                fixed=fixed,
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
            raise VariantError(f"variant file {path}: invalid TOML: {err}") from None
        except UnicodeDecodeError:
            raise VariantError(f"variant file {path}: not a text (TOML) file") from None
        return cls.from_dict(spec, source=str(path))

    def as_dict(self) -> dict[str, Any]:
        """The TOML/JSON form (inverse of :meth:`from_dict`)."""
        return {
            "name": self.name,
            "description": self.description,
            "priors": {k: p.as_dict() for k, p in self.priors.items()},
            "fixed": dict(self.fixed),
        }

    def to_json(self) -> str:
        """JSON form, stored in the attrs of every fit."""
        return json.dumps(self.as_dict(), sort_keys=True)

    def is_fixed(self, param: str) -> bool:
        """Whether a parameter (e.g. ``"s"``) is fixed rather than modelled."""
        return param in self.fixed


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


def _check_prior(variant: str, param: str, prior: Prior) -> None:
    """Check one prior: known family, arguments, support, cutpoint shape."""
    key = f"variant {variant!r}: priors.{param}"
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
    support = PARAMETERS[param]
    if family.support not in _FITS[support]:
        raise VariantError(
            f"{key}: a {prior.dist} prior (support {family.support}) does not fit "
            f"{param}, whose support is {support}"
        )
    for arg, value in prior.args.items():
        values = value if isinstance(value, list) else [value]
        if param == "cutpoints" and isinstance(value, list) and len(value) != 3:
            raise VariantError(f"{key}.{arg}: expected one number or a list of 3, got {value!r}")
        if param != "cutpoints" and isinstance(value, list):
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


def _check_fixed(variant: str, param: str, value: Any) -> None:
    """Check one fixed value against its parameter's range."""
    key = f"variant {variant!r}: fixed.{param}"
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
    if not _is_number(value):
        raise VariantError(f"{key}: expected a finite number, got {value!r}")
    ranges = {
        "positive": (value > 0, "> 0"),
        "nonnegative": (value >= 0, ">= 0"),
        "unit": (0 < value < 1, "in (0, 1)"),
        "discount": (0 < value <= 1, "in (0, 1]"),
        "unit_closed": (0 <= value <= 1, "in [0, 1]"),
        "real": (True, ""),
    }
    support = PARAMETERS.get(param) or PER_STATE[param]
    ok, text = ranges[support]
    if not ok:
        raise VariantError(f"{key}: must be {text}, got {value!r}")


def _validate(variant: Variant) -> None:
    """Check a variant: known keys, one specification per parameter, valid values.

    Raises
    ------
    VariantError
        Naming the variant and the key (``priors.X`` or ``fixed.X``).
    """
    name = variant.name
    known = set(PARAMETERS) | set(PER_STATE)
    for table, keys in (("priors", variant.priors), ("fixed", variant.fixed)):
        for key in keys:
            if key not in known:
                raise VariantError(
                    f"variant {name!r}: {table}.{key}: unknown parameter; "
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
        _check_prior(name, param, prior)
    for param, value in variant.fixed.items():
        _check_fixed(name, param, value)


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
