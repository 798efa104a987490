"""Variants as data: the bundled TOML files, user copies, and bad specifications."""

import json
import math
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


def test_bundled_variants_are_the_three_of_design():
    assert available_variants() == ["free", "misplaced_certainty", "sensible"]


def test_bundled_variants_read_as_design_section_4():
    mc = load_variant("misplaced_certainty")
    assert mc.fixed == {"s": 0.0}
    assert mc.priors["mu_l0"].args["mu"] == pytest.approx(math.log(0.85 / 0.15), abs=1e-4)
    assert mc.priors["mu_l0"].args["sigma"] == 0.5
    assert mc.priors["mu_w"].as_dict() == {"dist": "Normal", "mu": -1.0, "sigma": 1.0}
    sensible = load_variant("sensible")
    assert sensible.fixed == {"w": 1.0, "s": 1.0}
    assert sensible.priors["mu_l0"].as_dict() == {"dist": "Normal", "mu": 0.0, "sigma": 0.5}
    free = load_variant("free")
    assert free.fixed == {}
    assert free.priors["mu_l0"].as_dict() == {"dist": "Normal", "mu": 0.0, "sigma": 1.5}
    assert free.priors["pi"].as_dict() == {"dist": "Beta", "alpha": 2.0, "beta": 2.0}
    # The shared priors are the same in all three, so variants differ in beliefs only.
    shared = ("beta", "gamma", "delta", "cutpoints", "pi", "sigma_alpha")
    for name in shared:
        assert mc.priors[name] == sensible.priors[name] == free.priors[name]


def test_variant_survives_json_round_trip():
    for name in available_variants():
        variant = load_variant(name)
        again = Variant.from_dict(json.loads(variant.to_json()))
        assert again == variant


def test_user_copy_of_a_variant_file_defines_a_new_variant(tmp_path):
    path = tmp_path / "stubborn.toml"
    shutil.copy(variant_dir() / "misplaced_certainty.toml", path)
    text = path.read_text().replace('name = "misplaced_certainty"', 'name = "stubborn"')
    text = text.replace("[fixed]\ns = 0.0", "[fixed]\ns = 0.0\nw = 0.1")
    text = "\n".join(line for line in text.splitlines() if not line.startswith(("mu_w", "sigma_w")))
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
    with pytest.raises(VariantError, match=r"fixed\.w.*bad\.toml"):
        load_variant(path)
    path.write_text("name = [")
    with pytest.raises(VariantError, match="invalid TOML"):
        load_variant(path)


def test_every_parameter_and_family_is_documented_in_free_toml():
    text = (variant_dir() / "free.toml").read_text()
    for name in PARAMETERS:
        assert f"\n{name} = " in text
    for family in FAMILIES:
        assert family in text


def test_a_binary_file_as_variant_names_the_file(tmp_path):
    path = tmp_path / "panel.nc"
    path.write_bytes(b"\x89HDF\r\n\x1a\n\x00")
    with pytest.raises(VariantError, match=r"panel\.nc: not a text \(TOML\) file"):
        load_variant(path)
