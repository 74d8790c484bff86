"""Suites as data: the packaged files hold the paper's test sets and groups, a user's
edited copy is honoured, bad files fail naming file and key; augmentation and sweeps."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from seqsi.photometric import (
    CIFAR_INVARIANCE_CASES, LOCALIZATION_INVARIANCE_CASES, Case, available_suites, get_corruption, load_suite,
    scale_sweep, shift_sweep, training_augmentation,
)

CIFAR_TITLES = [  # the paper's CIFAR-10 table order
    "Clean", "Shift", "Scale (<1)", "Scale (>1)", "Affine", "Shift Saturated", "Scale (>1) Saturated",
    "Affine Saturated", "Linear", "Linear (Contrast Invert)", "Noise (low)", "Noise (high)", "Gamma (lighten)",
    "Gamma (darken)",
]
CIFAR_AFFINE_GROUP = ["shift", "scale_low", "scale_high", "affine"]
FLUO_TESTS = [  # the paper's 3D test alterations, then the artifact sets
    "none", "affine", "scale_low", "scale_high", "shift", "affine_saturated", "scale_saturated", "shift_saturated",
    "gamma_light", "gamma_dark", "noise_low", "noise_high", "arti_1.5", "arti_3", "arti_5", "arti_10",
]


def test_packaged_suites_hold_the_spec_test_sets_and_groups():
    assert available_suites() == ["cifar10", "fluorescence"]
    cifar = load_suite("cifar10")
    assert [c.title for c in cifar.test_corruptions()] == CIFAR_TITLES
    assert [k for k, c in cifar.corruptions.items() if c.affine] == ["clean", *CIFAR_AFFINE_GROUP]
    assert list(cifar.augmentations["affine"]) == CIFAR_AFFINE_GROUP
    nonaffine = [k for k in cifar.test_sets[1:] if k not in CIFAR_AFFINE_GROUP]
    assert list(cifar.augmentations["nonaffine"]) == nonaffine and len(nonaffine) == 9
    assert list(cifar.augmentations["random"]) == CIFAR_AFFINE_GROUP + nonaffine

    fluo = load_suite("fluorescence")
    assert list(fluo.test_sets) == FLUO_TESTS
    assert [k for k in FLUO_TESTS if fluo[k].affine] == ["none", "affine", "scale_low", "scale_high", "shift"]
    aff = ["affine", "scale", "shift"]
    naff = ["affine_saturated", "scale_saturated", "shift_saturated", "noise", "gamma"]
    assert dict(fluo.augmentations) == {"none": (), "Aff": tuple(aff), "Naff": tuple(naff), "All": tuple(aff + naff)}
    assert [k for k, c in fluo.corruptions.items() if c.dims == (3,)] == ["artifacts", *FLUO_TESTS[-4:]]


def test_an_edited_copy_is_loaded_from_its_path(tmp_path):
    source = Path(load_suite("cifar10").source)
    data = yaml.safe_load(source.read_text())
    data["corruptions"]["shift"]["b"] = [0.25, 0.5]
    data["augmentations"] = {"mine": ["shift"]}
    path = tmp_path / "my_suite.yaml"
    path.write_text(yaml.safe_dump(data))
    suite = load_suite(path)
    assert suite.name == "cifar10" and suite.source == str(path)
    b = suite["shift"](torch.zeros(500, 1, 1, 1), 0)[1]["b"]
    assert 0.25 <= float(b.min()) and float(b.max()) <= 0.5
    assert suite.augmentation("mine").options == ("identity", "shift")
    assert load_suite(str(path)).test_sets == load_suite("cifar10").test_sets


def _write(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


GOOD = "corruptions:\n  clean: {op: identity}\n"


@pytest.mark.parametrize(
    "text, message",
    [
        ("corruptions:\n  blur: {op: blur, sigma: 1}\n", r"bad\.yaml: corruptions\.blur: unknown operation 'blur'"),
        ("corruptions:\n  s: {op: affine, b: [2, -2]}\n", r"bad\.yaml: corruptions\.s: .*'b': reversed range"),
        ("corruptions:\n  s: {op: affine, b: [1, 1]}\n", r"bad\.yaml: corruptions\.s: .*parameter 'b': empty range"),
        ("corruptions:\n  s: {op: noise, sgma: [0, 1]}\n", r"corruptions\.s: .*no parameter 'sgma'.*sigma"),
        ("corruptions:\n  s: {b: 1}\n", r"bad\.yaml: corruptions\.s: expected a mapping with an 'op' key"),
        ("corruptions:\n  s: {op: affine, b: {uniform: [0, 1], sign: true}}\n", r"corruptions\.s: .*parameter 'b'"),
        (GOOD + "test_sets: [clean, shift]\n", r"bad\.yaml: test_sets: 'shift' is not a corruption of this file"),
        (GOOD + "augmentations:\n  g: [clean, nope]\n", r"bad\.yaml: augmentations\.g: 'nope' is not a corruption"),
        (GOOD + "augmentations: [clean]\n", r"bad\.yaml: 'augmentations' must map group names"),
        (GOOD + "tests: [clean]\n", r"bad\.yaml: unknown top-level key\(s\) \['tests'\]"),
        ("- clean\n", r"bad\.yaml: expected a mapping"),
        ("corruptions: {}\n", r"bad\.yaml: 'corruptions' must map"),
        ("corruptions: [oops\n", r"bad\.yaml: not valid YAML"),
    ],
)
def test_bad_suite_files_name_the_file_and_key(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        load_suite(_write(tmp_path, text))


def test_missing_files_and_unknown_suites(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.yaml does not exist"):
        load_suite(tmp_path / "nothere.yaml")
    with pytest.raises(ValueError, match="unknown suite 'cifar100'; packaged suites: cifar10, fluorescence"):
        load_suite("cifar100")
    with pytest.raises(ValueError, match="no augmentation group 'aff'; valid: none, Aff, Naff, All"):
        load_suite("fluorescence").augmentation("aff")


def test_the_former_name_fluo3d_still_loads_and_evaluates(tmp_path):
    """Runs saved before the rename name the suite fluo3d in their config.yaml (the shipped
    models' too): that name is the same packaged suite, and such a config evaluates alike."""
    from seqsi.data.bioimage import write_tiff
    from seqsi.engine.localization import evaluate_localizer, tiny_config
    from seqsi.models import build_model

    assert load_suite("fluo3d") is load_suite("fluorescence") and "fluo3d" not in available_suites()
    x = torch.rand(8, 1, 6, 6)
    old, new = get_corruption("fluo3d/affine")(x, 3), get_corruption("fluorescence/affine")(x, 3)
    assert torch.equal(old[0], new[0]) and not torch.equal(old[0], x)
    assert training_augmentation({"suite": "fluo3d", "group": "Aff"}).options == ("identity", "affine", "scale",
                                                                                 "shift")
    yy, xx = np.mgrid[:32, :32]
    mask = ((yy - 10) ** 2 + (xx - 12) ** 2 < 16).astype(np.int32)
    write_tiff(tmp_path / "test" / "images" / "a.tif", (1000 * mask + 100).astype(np.uint16))
    write_tiff(tmp_path / "test" / "masks" / "a.tif", mask)
    torch.manual_seed(0)
    model = build_model("drunet", "seqsi", 2, widths=(4, 8), blocks=1)
    results = {}
    for name in ("fluo3d", "fluorescence"):
        eval_cfg = {**tiny_config(tmp_path)["eval"], "suite": name}
        _, details = evaluate_localizer(model, "zmse", 0.5, tmp_path / "test", eval_cfg, dims=2, spacing=(1, 1))
        results[name] = [(d["testset"], d["n_pred"], d["score"]) for d in details]
    assert results["fluo3d"] == results["fluorescence"]
    assert [r[0] for r in results["fluo3d"]] == load_suite("fluorescence").test_set_names()  # every 2D alteration


def test_augmentation_picks_one_entry_or_identity_uniformly_per_sample():
    group = load_suite("cifar10").augmentation("affine")
    assert group.options == ("identity", "shift", "scale_low", "scale_high", "affine")
    x = torch.rand(3000, 1, 2, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) + 0.1
    y, p = group(x, 1)
    choice = p["choice"]
    freq = torch.bincount(choice, minlength=5).double() / len(x)
    assert torch.all((freq - 0.2).abs() < 0.03), freq
    same = (y == x).flatten(1).all(1)
    assert torch.equal(same, choice == 0), "exactly the identity rows are unchanged"
    ratio, diff = (y / x).flatten(1), (y - x).flatten(1)
    shift, scaled = choice == 1, (choice == 2) | (choice == 3)
    assert torch.allclose(ratio[scaled], ratio[scaled][:, :1]), "scale rows are a x"
    assert torch.allclose(diff[shift], diff[shift][:, :1]), "shift rows are x + b"
    y2, p2 = group(x, 1)
    assert torch.equal(y, y2) and torch.equal(choice, p2["choice"])
    assert not torch.equal(choice, group(x, 2)[1]["choice"])


def test_3d_groups_run_on_volumes_and_none_is_identity():
    fluo = load_suite("fluorescence")
    v = torch.rand(6, 1, 5, 6, 7, generator=torch.Generator().manual_seed(3))
    y, p = fluo.augmentation("none")(v, 0)
    assert torch.equal(y, v) and torch.all(p["choice"] == 0)
    y, p = fluo.augmentation("All")(v, 4)
    assert y.shape == v.shape and torch.isfinite(y).all()
    assert len(fluo.augmentation("All").options) == 9


def test_sweeps_are_deterministic_grids():
    scales = scale_sweep(11)
    a = torch.tensor([c.a for c in scales], dtype=torch.float64)
    assert math.isclose(scales[0].a, 1e-2) and math.isclose(scales[-1].a, 1e3) and all(c.b == 0 for c in scales)
    assert torch.allclose(a[1:] / a[:-1], torch.full((10,), 10 ** 0.5, dtype=torch.float64))
    shifts = shift_sweep(5, -2, 2)
    assert shifts == [Case(1.0, -2.0), Case(1.0, -1.0), Case(1.0, 0.0), Case(1.0, 1.0), Case(1.0, 2.0)]
    for bad in (lambda: scale_sweep(1), lambda: scale_sweep(5, 0, 1), lambda: shift_sweep(5, 2, -2)):
        with pytest.raises(ValueError):
            bad()


def test_invariance_cases_follow_the_spec():
    # the paper lists the last three as (b, a) = (5, 0.1), (5, 3), (-2, 10)
    assert set(CIFAR_INVARIANCE_CASES) == {
        Case(1, -2), Case(1, 0.5), Case(1, 2), Case(1, 10), Case(0.5, 0), Case(3, 0), Case(255, 0),
        Case(a=0.1, b=5), Case(a=3, b=5), Case(a=10, b=-2),
    }
    # the paper's localization cases are (lambda, mu) = (a, b)
    assert set(LOCALIZATION_INVARIANCE_CASES) == set(CIFAR_INVARIANCE_CASES)
    assert len(CIFAR_INVARIANCE_CASES) == len(LOCALIZATION_INVARIANCE_CASES) == 10
    x = torch.rand(2, 1, 4, 4, dtype=torch.float64)
    for case in CIFAR_INVARIANCE_CASES:
        corruption = case.corruption()
        assert corruption.affine
        y, p = corruption(x, 0)
        assert torch.equal(y, x * case.a + case.b)
        assert torch.all(p["a"] == case.a) and torch.all(p["b"] == case.b)


def test_suite_splits_its_test_sets_into_alterations_and_artifacts_and_titles_them():
    suite = load_suite("fluorescence")
    artifacts = suite.test_set_names(artifacts=True)
    assert artifacts == [n for n in suite.test_sets if n.startswith("arti_")] and len(artifacts) == 4
    assert suite.test_set_names() + artifacts == list(suite.test_sets)
    assert suite.titles["none"] == suite["none"].title and set(suite.titles) == set(suite.corruptions)
