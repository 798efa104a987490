"""Variants as data: the bundled TOML files, user copies, and bad specifications."""

import json
import math
import re
import shutil

import pytest

from secdilemma.model.variants import (
    FAMILIES,
    PARAMETERS,
    Variant,
    VariantError,
    available_variants,
    load_variant,
    variant_dir,
)


def test_bundled_variants_are_the_four_of_design():
    assert available_variants() == ["free", "misplaced_certainty", "mixture", "sensible"]


def test_bundled_variants_read_as_design_section_4():
    free = load_variant("free")
    assert free.fixed == {} and not free.has_regimes
    assert free.priors["mu_l0"].as_dict() == {"dist": "Normal", "mu": 0.0, "sigma": 1.5}
    assert free.priors["pi"].as_dict() == {"dist": "Beta", "alpha": 2.0, "beta": 2.0}
    mixture = load_variant("mixture")
    assert list(mixture.regimes) == ["sensible", "misplaced_certainty"]
    sensible_regime, misplaced_regime = mixture.regimes.values()
    assert sensible_regime["l0"].as_dict() == {"dist": "Normal", "mu": 0.0, "sigma": 0.5}
    assert (sensible_regime["w"], sensible_regime["s"]) == (1.0, 1.0)
    assert misplaced_regime["l0"].args["mu"] == pytest.approx(math.log(0.85 / 0.15), abs=1e-4)
    assert misplaced_regime["w"].as_dict() == {"dist": "Beta", "alpha": 2.0, "beta": 3.0}
    assert misplaced_regime["s"] == 0.0
    assert mixture.priors["rho"].as_dict() == {"dist": "Beta", "alpha": 2.0, "beta": 2.0}
    # The pure variants are the mixture's two ends: same regimes, rho fixed.
    for name, rho, active in (("sensible", 0.0, ["sensible"]),
                              ("misplaced_certainty", 1.0, ["misplaced_certainty"])):  # fmt: skip
        variant = load_variant(name)
        assert variant.fixed == {"rho": rho}
        assert variant.regimes == mixture.regimes
        assert variant.active_regimes() == active
    # The shared priors are the same in all, so variants differ in beliefs only.
    shared = ("beta", "gamma", "delta", "cutpoints", "pi", "sigma_alpha")
    for name in available_variants():
        for param in shared:
            assert load_variant(name).priors[param] == free.priors[param]


def test_variant_survives_json_round_trip():
    for name in available_variants():
        variant = load_variant(name)
        again = Variant.from_dict(json.loads(variant.to_json()))
        assert again == variant
        assert list(again.regimes) == list(variant.regimes)  # rho's meaning kept
    spec = load_variant("mixture").as_dict()
    spec["regimes"] = dict(reversed(spec["regimes"].items()))
    assert Variant.from_dict(spec) != load_variant("mixture")


def test_user_copy_of_a_variant_file_defines_a_new_variant(tmp_path):
    path = tmp_path / "stubborn.toml"
    shutil.copy(variant_dir() / "free.toml", path)
    text = path.read_text().replace('name = "free"', 'name = "stubborn"')
    text = text.replace("\n[fixed]", "\n[fixed]\ns = 0.0\nw = 0.1")
    drop = ("mu_w", "sigma_w", "mu_s", "sigma_s")
    text = "\n".join(line for line in text.splitlines() if not line.startswith(drop))
    path.write_text(text)
    variant = load_variant(path)
    assert variant.name == "stubborn"
    assert variant.fixed == {"s": 0.0, "w": 0.1}
    assert "mu_w" not in variant.priors


def test_variant_from_mapping_and_object_pass_through():
    spec = load_variant("free").as_dict()
    variant = load_variant(spec)
    assert load_variant(variant) is variant


def _spec(**changes):
    """The free variant's specification with `changes` applied (None deletes)."""
    spec = load_variant("free").as_dict()
    for dotted, value in changes.items():
        table, key = dotted.split("__")
        if value is None:
            spec[table].pop(key)
        else:
            spec[table][key] = value
    return spec


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"priors__kappa": {"dist": "Normal", "mu": 0.0, "sigma": 1.0}}, "priors.kappa"),
        ({"priors__beta": {"dist": "Cauchy", "alpha": 0.0, "beta": 1.0}}, "priors.beta"),
        ({"priors__beta": {"dist": "Gamma", "alpha": 2.0}}, "priors.beta"),
        ({"priors__beta": {"dist": "Normal", "mu": 2.0, "sigma": 1.0}}, "priors.beta"),
        ({"priors__sigma_w": {"dist": "HalfNormal", "sigma": -0.5}}, "priors.sigma_w.sigma"),
        ({"priors__mu_s": {"dist": "Normal", "mu": "zero", "sigma": 1.0}}, "priors.mu_s.mu"),
        ({"priors__pi": {"dist": "Gamma", "alpha": 2.0, "beta": 2.0}}, "priors.pi"),
        (
            {"priors__cutpoints": {"dist": "Normal", "mu": [0.0, 0.0, 1.0], "sigma": 2.0}},
            "priors.cutpoints.mu",
        ),
        ({"priors__gamma": None}, "gamma"),
        ({"fixed__s": 1.5, "priors__mu_s": None, "priors__sigma_s": None}, "fixed.s"),
        ({"fixed__w": 0.0, "priors__mu_w": None, "priors__sigma_w": None}, "fixed.w"),
        ({"fixed__s": 1.0}, "mu_s"),
        ({"fixed__beta": 2.0}, "beta"),
        ({"fixed__delta": -1.0, "priors__delta": None}, "fixed.delta"),
        ({"fixed__cutpoints": [1.0, 0.0, 2.0], "priors__cutpoints": None}, "fixed.cutpoints"),
        ({"priors__w": {"dist": "Beta", "alpha": 2.0, "beta": 2.0}}, "priors.w"),
    ],
)
def test_bad_specification_fails_naming_the_key(changes, named):
    with pytest.raises(VariantError, match=named.replace(".", r"\.")):
        Variant.from_dict(_spec(**changes))


def test_unknown_variant_name_lists_the_known_ones():
    with pytest.raises(VariantError, match="misplaced_certainty"):
        load_variant("optimistic")


def test_bad_toml_file_names_the_file_and_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text((variant_dir() / "sensible.toml").read_text().replace("w = 1.0", "w = 2.0"))
    with pytest.raises(VariantError, match=r"regimes\.sensible\.w.*bad\.toml"):
        load_variant(path)
    path.write_text("name = [")
    with pytest.raises(VariantError, match="invalid TOML"):
        load_variant(path)


def test_every_parameter_and_family_is_documented_in_the_bundled_files():
    free = (variant_dir() / "free.toml").read_text()
    mixture = (variant_dir() / "mixture.toml").read_text()
    for name in PARAMETERS:
        assert f"\n{name} = " in free
    for family in FAMILIES:
        assert family in free + mixture


def _mixture_spec():
    return json.loads(load_variant("mixture").to_json())


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda s: s["regimes"]["sensible"].update(kappa=1.0), "regimes.sensible.kappa"),
        (
            lambda s: s["regimes"]["misplaced_certainty"].update(w=1.5),
            "regimes.misplaced_certainty.w",
        ),
        (
            lambda s: s["regimes"]["misplaced_certainty"].update(w=0.0),
            "regimes.misplaced_certainty.w",
        ),
        (lambda s: s["regimes"]["sensible"].update(s=-0.1), "regimes.sensible.s"),
        (
            lambda s: s["regimes"]["sensible"].update(
                w={"dist": "Normal", "mu": 1.0, "sigma": 1.0}
            ),
            "regimes.sensible.w",
        ),
        (lambda s: s["regimes"]["sensible"].pop("l0"), "regimes.sensible.l0"),
        (lambda s: s["regimes"].pop("sensible"), "at least two regimes"),
        (
            lambda s: s["regimes"].update(Sensible=dict(s["regimes"]["sensible"])),
            "regimes.Sensible",
        ),
        (lambda s: s["priors"].pop("rho"), "rho"),
        (lambda s: s["fixed"].update(rho=1.5) or s["priors"].pop("rho"), "fixed.rho"),
        (
            lambda s: s["priors"].update(mu_l0={"dist": "Normal", "mu": 0.0, "sigma": 1.0}),
            "priors.mu_l0",
        ),
        (lambda s: s["fixed"].update(w=1.0), "fixed.w"),
        (lambda s: s["regimes"].update(third=dict(s["regimes"]["sensible"])), "regime_share"),
    ],
)
def test_bad_regimes_fail_naming_the_key(change, named):
    spec = _mixture_spec()
    change(spec)
    with pytest.raises(VariantError, match=re.escape(named)):
        Variant.from_dict(spec)


def test_duplicate_regime_names_in_toml_are_named(tmp_path):
    path = tmp_path / "twice.toml"
    text = (variant_dir() / "mixture.toml").read_text()
    path.write_text(text + "\n[regimes.sensible]\nl0 = 0.0\nw = 1.0\ns = 1.0\n")
    with pytest.raises(VariantError, match="two regimes with the same name"):
        load_variant(path)


def test_three_regimes_with_a_dirichlet_share(tmp_path):
    spec = _mixture_spec()
    spec["regimes"]["insensible"] = {"l0": 0.0, "w": 1.0, "s": 0.0}
    del spec["priors"]["rho"]
    spec["priors"]["regime_share"] = {"dist": "Dirichlet", "a": [2.0, 2.0, 2.0]}
    variant = Variant.from_dict(spec)
    assert variant.active_regimes() == ["sensible", "misplaced_certainty", "insensible"]
    spec["priors"]["regime_share"] = {"dist": "Dirichlet", "a": [2.0, 2.0]}
    with pytest.raises(VariantError, match=r"priors\.regime_share\.a"):
        Variant.from_dict(spec)
    # Fixed shares with a zero remove that regime from the model.
    del spec["priors"]["regime_share"]
    spec["fixed"]["regime_share"] = [0.5, 0.0, 0.5]
    assert Variant.from_dict(spec).active_regimes() == ["sensible", "insensible"]


def test_a_binary_file_as_variant_names_the_file(tmp_path):
    path = tmp_path / "panel.nc"
    path.write_bytes(b"\x89HDF\r\n\x1a\n\x00")
    with pytest.raises(VariantError, match=r"panel\.nc: not a text \(TOML\) file"):
        load_variant(path)
