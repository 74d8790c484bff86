"""Each corruption against its definition in the paper (CIFAR-10 and 3D localization), its errors, and the
reproducibility contract. The paper's numbers are written out here again, independently
of the suite files, so a wrong YAML edit fails a test."""
import math

import numpy as np
import pytest
import torch

from seqsi.photometric import (
    Augmentation, available_suites, get_corruption, load_suite, make_corruption, minmax_normalize,
)

CIFAR = load_suite("cifar10")
FLUO = load_suite("fluorescence")
MANY = 2000  # draws for range checks: a 5 % margin at each end is missed with prob ~ 1e-44


def _rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _uniform_on(values, low, high):
    """Inside [low, high], reaching both ends, centred: what U(low, high) gives on MANY draws."""
    width = high - low
    assert low <= float(values.min()) and float(values.max()) <= high
    assert float(values.min()) < low + 0.05 * width and float(values.max()) > high - 0.05 * width
    assert abs(float(values.mean()) - (low + high) / 2) < 0.05 * width


def _per_image(v, x):
    return v.view(-1, *([1] * (x.ndim - 1)))


# the paper's CIFAR-10 corruptions: key -> (a range or constant, b range or constant, offset, clipped)
CIFAR_AFFINE = {
    "shift": (1, (-2, 2), 0, False),
    "scale_low": ((0, 1), 0, 0, False),
    "scale_high": ((1, 4), 0, 0, False),
    "affine": ((0, 4), (-2, 2), 0, False),
    "shift_saturated": (1, (-0.7, 0.7), 0, True),
    "scale_saturated": ((1, 3), 0, 0, True),
    "affine_saturated": ((0.7, 1.3), (-0.3, 0.3), 0.5, True),
}


def _check_spec_value(values, spec):
    if isinstance(spec, tuple):
        _uniform_on(values, *spec)
    else:
        assert torch.all(values == spec)


@pytest.mark.parametrize("key", CIFAR_AFFINE)
def test_cifar_affine_family_matches_spec(key):
    a_spec, b_spec, offset, clipped = CIFAR_AFFINE[key]
    x = _rand(MANY, 1, 2, 2)
    y, p = CIFAR[key](x, 0)
    _check_spec_value(p["a"], a_spec)
    _check_spec_value(p["b"], b_spec)
    expected = x * _per_image(p["a"], x) + _per_image(p["b"] + offset, x)
    if clipped:
        assert bool(((expected < 0) | (expected > 1)).any()), "saturation must actually happen"
        expected = expected.clamp(0, 1)
    torch.testing.assert_close(y, expected, rtol=0, atol=1e-12)
    assert CIFAR[key].affine is (not clipped)


def test_unsaturated_shift_leaves_the_unit_range_and_saturated_does_not():
    x = _rand(200, 1, 4, 4)
    assert float(CIFAR["shift"](x, 0)[0].min()) < 0 and float(CIFAR["shift"](x, 0)[0].max()) > 1
    for key in ("shift_saturated", "scale_saturated", "affine_saturated"):
        y = CIFAR[key](x, 0)[0]
        assert 0 <= float(y.min()) and float(y.max()) <= 1


def test_fluorescence_affine_family_matches_spec():
    x = _rand(MANY, 1, 2, 2, 2)
    for key in ("affine", "scale"):  # a = U(0, 1) or U(1, 4), probability 1/2 each
        y, p = FLUO[key](x, 1)
        a = p["a"]
        low = a <= 1
        assert 0.45 < float(low.double().mean()) < 0.55
        _uniform_on(a[low], 0, 1)
        _uniform_on(a[~low], 1, 4)
        if key == "affine":
            _uniform_on(p["b"], -2, 2)
        else:
            assert torch.all(p["b"] == 0)
        torch.testing.assert_close(y, x * _per_image(a, x) + _per_image(p["b"], x), rtol=0, atol=1e-12)
    _uniform_on(FLUO["scale_low"](x, 2)[1]["a"], 0, 1)
    _uniform_on(FLUO["scale_high"](x, 2)[1]["a"], 1, 4)
    _uniform_on(FLUO["shift"](x, 2)[1]["b"], -2, 2)
    for key in ("affine_saturated", "shift_saturated"):  # b = +-U(0.4, 0.8)
        y, p = FLUO[key](x, 3)
        b = p["b"]
        assert 0.45 < float((b < 0).double().mean()) < 0.55
        _uniform_on(b.abs(), 0.4, 0.8)
        expected = (x * _per_image(p["a"], x) + _per_image(b, x)).clamp(0, 1)
        torch.testing.assert_close(y, expected, rtol=0, atol=1e-12)
    _uniform_on(FLUO["affine_saturated"](x, 3)[1]["a"], 0.5, 1.5)
    y, p = FLUO["scale_saturated"](x, 4)
    _uniform_on(p["a"], 1, 4)
    assert float(y.max()) == 1.0 and float(y.min()) >= 0


@pytest.mark.parametrize("spatial", [(13,), (7, 11), (5, 6, 7)])
def test_linear_fields_are_linear_along_the_drawn_direction(spatial):
    corruption = CIFAR["linear"]
    n = 12
    zeros = torch.zeros(n, 2, *spatial, dtype=torch.float64)
    b_out, p = corruption(zeros, 5)
    ab_out, p_again = corruption(torch.ones_like(zeros), 5)
    assert all(torch.equal(p[k], p_again[k]) for k in p)
    assert torch.equal(b_out[:, 0], b_out[:, 1]), "the fields are the same for every channel"
    b_field, a_field = b_out[:, 0], ab_out[:, 0] - b_out[:, 0]
    grids = torch.meshgrid(*[torch.arange(s, dtype=torch.float64) for s in spatial], indexing="ij")
    coords = torch.stack([g.flatten() for g in grids], 1)
    design = torch.cat([torch.ones(len(coords), 1, dtype=torch.float64), coords], 1)
    for i in range(n):
        u = p["direction"][i]
        assert abs(float(u.norm()) - 1) < 1e-12
        along = coords @ u
        for field, start, end in ((a_field[i], p["a0"][i], p["a1"][i]), (b_field[i], p["b0"][i], p["b1"][i])):
            values = field.flatten()
            fit = torch.linalg.lstsq(design, values.unsqueeze(1)).solution.squeeze(1)
            assert float((design @ fit - values).abs().max()) < 1e-9, "field is not linear in the position"
            gradient = fit[1:]
            # the gradient points along the drawn direction, from the start value to the end value
            torch.testing.assert_close(gradient, u * float(gradient @ u), rtol=0, atol=1e-9)
            assert abs(float(values[along.argmin()] - start)) < 1e-9
            assert abs(float(values[along.argmax()] - end)) < 1e-9
    for key, low, high in (("a0", 0.1, 0.5), ("a1", 0.1, 0.5), ("b0", -1, 1), ("b1", -1, 1)):
        assert low <= float(p[key].min()) and float(p[key].max()) <= high


def test_linear_end_values_and_direction_are_uniform():
    _, p = CIFAR["linear"](torch.zeros(MANY // 2, 1, 2, 2, dtype=torch.float64), 6)
    for key, low, high in (("a0", 0.1, 0.5), ("a1", 0.1, 0.5), ("b0", -1, 1), ("b1", -1, 1)):
        _uniform_on(p[key], low, high)
    angle = torch.atan2(p["direction"][:, 1], p["direction"][:, 0]) % (2 * math.pi)
    counts = torch.histc(angle, bins=8, min=0, max=2 * math.pi)  # 125 expected per bin, sd ~ 10.5
    assert float(counts.min()) > 80 and float(counts.max()) < 170
    x = _rand(MANY // 2, 1, 3, 3)
    y, q = CIFAR["linear_contrast_invert"](x, 7)
    _uniform_on(q["a0"], -1, -0.2)
    assert torch.all(q["b0"] == 0) and torch.all(q["b1"] == 0)
    assert float(y.max()) <= 0, "contrast inversion of a non-negative image is non-positive"


def test_noise_statistics():
    corruption = get_corruption("cifar10/noise_high", clip=None)  # raw noise, no clipping
    x = torch.full((6, 2, 64, 64), 0.5, dtype=torch.float64)
    y, p = corruption(x, 8)
    noise = (y - x).flatten(1)  # 8192 samples per image
    sigma = p["sigma"]
    assert torch.all(noise.mean(1).abs() < 4 * sigma / math.sqrt(noise.shape[1]))
    torch.testing.assert_close(noise.std(1), sigma, rtol=0.05, atol=0)
    inside = (noise.abs() <= sigma.unsqueeze(1)).double().mean(1)
    assert torch.all((inside - 0.6827).abs() < 0.03), "not Gaussian"
    channels = (y - x)[:, :, :, :].flatten(2)
    corr = torch.nn.functional.cosine_similarity(channels[:, 0], channels[:, 1], dim=1)
    assert torch.all(corr.abs() < 0.06), "channels must get independent noise"
    for key, low, high in (("noise_low", 0, 0.03), ("noise_high", 0.15, 0.25)):
        _uniform_on(CIFAR[key](_rand(MANY, 1, 1, 1), 9)[1]["sigma"], low, high)


def test_cifar_noise_clips_and_fluorescence_noise_renormalises():
    x = _rand(4, 3, 16, 16)
    raw = get_corruption("cifar10/noise_high", clip=None)(x, 10)[0]
    y = CIFAR["noise_high"](x, 10)[0]
    assert torch.equal(y, raw.clamp(0, 1)) and bool((y == 0).any()) and bool((y == 1).any())
    v = _rand(3, 1, 6, 6, 6)
    for key, low, high in (("noise", 0, 0.2), ("noise_low", 0.01, 0.03), ("noise_high", 0.15, 0.25)):
        y, p = FLUO[key](v, 11)
        raw = get_corruption(f"fluorescence/{key}", minmax=False)(v, 11)[0]
        torch.testing.assert_close(y, minmax_normalize(raw), rtol=0, atol=0)
        assert torch.all(y.flatten(1).amin(1) == 0) and torch.all(y.flatten(1).amax(1) == 1)
        _uniform_on(FLUO[key](_rand(MANY, 1, 1, 1, 1), 12)[1]["sigma"], low, high)


def test_gamma_matches_spec():
    x = _rand(MANY, 1, 2, 2)
    for suite, key, low, high in ((CIFAR, "gamma_light", 0.2, 1), (CIFAR, "gamma_dark", 1, 5),
                                  (FLUO, "gamma_light", 0.2, 1)):
        y, p = suite[key](x, 13)
        _uniform_on(p["g"], low, high)
        torch.testing.assert_close(y, x ** _per_image(p["g"], x), rtol=1e-12, atol=0)
    g = FLUO["gamma_dark"](x, 14)[1]["g"]  # 1 / U(0.2, 1): in [1, 5], its inverse uniform
    assert 1 <= float(g.min()) and float(g.max()) <= 5
    _uniform_on(1 / g, 0.2, 1)
    g = FLUO["gamma"](x, 15)[1]["g"]  # light or dark with probability 1/2
    assert 0.45 < float((g < 1).double().mean()) < 0.55
    _uniform_on(g[g < 1], 0.2, 1)
    _uniform_on(1 / g[g >= 1], 0.2, 1)
    with pytest.raises(ValueError, match="gamma_dark.*non-negative"):
        CIFAR["gamma_dark"](x - 0.5, 0)


def _capsules(spatial, p, i):
    """The artifact map recomputed from the drawn geometry, by brute force on the full grid."""
    grid = np.stack(np.meshgrid(*[np.arange(s, dtype=float) for s in spatial], indexing="ij"), -1)
    out = np.zeros(spatial)
    for j in range(int(p["count"][i])):
        c, u = p["centers"][i, j].numpy(), p["directions"][i, j].numpy()
        half, w = float(p["lengths"][i, j]) / 2, float(p["widths"][i, j])
        t = np.clip((grid - c) @ u, -half, half)
        d2 = (((grid - c) - t[..., None] * u) ** 2).sum(-1)
        out = np.maximum(out, np.exp(-d2 / (2 * w * w)) * (d2 <= (4 * w) ** 2))
    return out


def test_artifacts_placed_and_scaled_as_specified():
    corruption = get_corruption("fluorescence/artifacts", minmax=False, k=3, object_intensity=0.5)
    spatial = (18, 20, 22)
    x = torch.zeros(4, 1, *spatial, dtype=torch.float64)
    y, p = corruption(x, 16)
    assert torch.all(p["k"] == 3) and torch.all(p["reference"] == 0.5)
    for i in range(4):
        count = int(p["count"][i])
        assert 2 <= count <= 5
        assert torch.isnan(p["centers"][i, count:]).all() and not torch.isnan(p["centers"][i, :count]).any()
        inside = (p["centers"][i, :count] >= 0) & (p["centers"][i, :count] <= torch.tensor(spatial) - 1)
        assert inside.all()
        assert torch.all((p["lengths"][i, :count] >= 4) & (p["lengths"][i, :count] <= 16))
        assert torch.all((p["widths"][i, :count] >= 1) & (p["widths"][i, :count] <= 2))
        np.testing.assert_allclose(y[i, 0].numpy(), 1.5 * _capsules(spatial, p, i), rtol=0, atol=1e-12)
        # peaks reach k * object intensity: some voxel lies within sqrt(3)/2 of each axis
        assert 1.5 * math.exp(-0.75 / 2) <= float(y[i].max()) <= 1.5
    _, q = get_corruption("fluorescence/artifacts", minmax=False)(_rand(200, 1, 2, 2, 2), 17)
    assert set(q["k"].tolist()) == {1.5, 3.0, 5.0, 10.0}
    assert set(q["count"].tolist()) == {2.0, 3.0, 4.0, 5.0}


def test_artifacts_reference_defaults_to_the_object_intensity():
    x = torch.full((2, 1, 16, 16, 16), 0.1, dtype=torch.float64)
    x[:, :, 2:6, 2:6, 2:6] = 0.8  # objects: 1.6 % of the voxels, above the 99th percentile
    y, p = get_corruption("fluorescence/arti_10", minmax=False)(x, 18)
    assert torch.all(p["reference"] == 0.8)
    assert float((y - x).max()) <= 8.0 + 1e-12 and float((y - x).max()) > 8.0 * math.exp(-0.75 / 2)
    for key, k in (("arti_1.5", 1.5), ("arti_3", 3), ("arti_5", 5), ("arti_10", 10)):
        assert key in FLUO.test_sets
        y, p = FLUO[key](x, 19)
        assert torch.all(p["k"] == k)
        assert float(y.min()) == 0 and float(y.max()) == 1  # stored, then min-max normalised on loading


# -- errors ----------------------------------------------------------------------------
def test_3d_only_corruption_on_2d_data_is_a_clear_error():
    with pytest.raises(ValueError, match=r"'arti_3' supports 3D data only; got 2D input"):
        FLUO["arti_3"](_rand(2, 1, 8, 8), 0)
    with pytest.raises(ValueError, match="augmentation 'bright' supports 3D data only"):
        Augmentation("bright", (FLUO["artifacts"],))(_rand(2, 1, 8, 8), 0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_input_is_rejected_naming_the_corruption(bad):
    x2, x3 = _rand(2, 1, 4, 4), _rand(2, 1, 4, 4, 4)
    x2[1, 0, 2, 3] = bad
    x3[0, 0, 1, 2, 3] = bad
    for suite in (CIFAR, FLUO):
        for key, c in suite.corruptions.items():
            with pytest.raises(ValueError, match=f"corruption '{key}': input contains NaN or inf \\(1 values\\)"):
                c(x2 if 2 in c.dims else x3, 0)


def test_bad_tensors_are_rejected():
    with pytest.raises(ValueError, match="floating-point"):
        CIFAR["shift"](torch.zeros(2, 1, 4, 4, dtype=torch.uint8), 0)
    with pytest.raises(ValueError, match=r"batch \(N, C, \*spatial\).*shape \(4, 4\)"):
        CIFAR["shift"](torch.zeros(4, 4), 0)


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown corruption 'shfit'; valid corruptions: .*cifar10/shift, "):
        get_corruption("shfit")
    with pytest.raises(ValueError, match="unknown corruption 'cifar10/none'.*fluorescence/none"):
        get_corruption("cifar10/none")
    with pytest.raises(ValueError, match="several suites.*cifar10/shift_saturated, fluorescence/shift_saturated"):
        get_corruption("shift_saturated")
    assert get_corruption("linear") == CIFAR["linear"]  # defined once: the bare key is enough
    with pytest.raises(ValueError, match="unknown operation 'blur'.*valid operations: identity, affine"):
        make_corruption("blur", name="b")


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: make_corruption("affine", name="bad", a=[2, 1]), r"'bad': parameter 'a': reversed range \[2, 1\]"),
        (lambda: make_corruption("affine", name="bad", b=[1, 1]), r"'bad': parameter 'b': empty range \[1, 1\]"),
        (lambda: make_corruption("affine", name="bad", b=[]), r"'bad': parameter 'b': empty range \[\]"),
        (lambda: get_corruption("cifar10/shift", b=[2, -2]), r"'shift': parameter 'b': reversed range"),
        (lambda: get_corruption("fluorescence/shift_saturated", b={"one_of": []}), r"'shift_saturated': parameter 'b'"),
        (lambda: make_corruption("gamma", name="g0", g=[-1, 1]), r"'g0': parameter 'g': every value must be > 0"),
        (lambda: make_corruption("noise", name="n", sigma=[-0.1, 0.1]), r"'n': parameter 'sigma'.*>= 0"),
        (lambda: make_corruption("gamma", name="r", g={"uniform": [0, 1], "reciprocal": True}), r"'r'.*needs low > 0"),
        (lambda: make_corruption("affine", name="c", clip=[1, 0]), r"'c': parameter 'clip': reversed range"),
        (lambda: make_corruption("artifacts", name="t", count=[3, 2]), r"'t': parameter 'count': reversed range"),
        (lambda: make_corruption("affine", name="u", scale=[1, 2]), r"'u'.*no parameter 'scale'.*a, b, offset"),
        (lambda: make_corruption("affine", name="d", dims=[2, 4]), r"'d': parameter 'dims'"),
        (lambda: make_corruption("affine", name="f", a=math.nan), r"'f': parameter 'a': expected a finite number"),
    ],
)
def test_bad_parameters_are_rejected_at_construction(build, message):
    with pytest.raises(ValueError, match=message):
        build()


# -- reproducibility -------------------------------------------------------------------
def _every_corruption():
    for name in available_suites():
        for key, c in load_suite(name).corruptions.items():
            x = _rand(5, 2, 6, 7, seed=1) if 2 in c.dims else _rand(5, 1, 6, 7, 8, seed=1)
            yield f"{name}/{key}", c, x


def test_same_seed_same_images_other_seed_other_images():
    for name, c, x in _every_corruption():
        y1, p1 = c(x, 21)
        y2, p2 = c(x, torch.Generator().manual_seed(21))
        assert torch.equal(y1, y2) and p1.keys() == p2.keys(), name
        assert all(torch.equal(p1[k], p2[k]) for k in p1 if not p1[k].isnan().any()), name
        if c.op != "identity":
            assert not torch.equal(y1, c(x, 22)[0]), f"{name}: another seed gave the same images"


def test_batching_does_not_change_the_test_set():
    for name, c, x in _every_corruption():
        whole = c(x, 23)[0]
        g = torch.Generator().manual_seed(23)
        parts = torch.cat([c(x[:2], g)[0], c(x[2:3], g)[0], c(x[3:], g)[0]])
        assert torch.equal(whole, parts), name


def test_float32_and_float64_see_the_same_draws():
    for name, c, x in _every_corruption():
        y64, p64 = c(x, 24)
        y32, p32 = c(x.float(), 24)
        assert y32.dtype == torch.float32
        draws = [k for k in p64 if k != "reference"]  # artifacts' reference is measured on the data
        assert all(torch.equal(p64[k].nan_to_num(), p32[k].nan_to_num()) for k in draws), name
        torch.testing.assert_close(y32.double(), y64, rtol=1e-5, atol=1e-5, msg=name)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cpu_and_gpu_give_the_same_images():
    for name, c, x in _every_corruption():
        cpu, p_cpu = c(x.float(), 25)
        gpu, p_gpu = c(x.float().cuda(), 25)
        assert gpu.device.type == "cuda"
        assert all(torch.equal(p_cpu[k].nan_to_num(), p_gpu[k].nan_to_num()) for k in p_cpu), name
        if c.op == "gamma":  # pow is the one op whose last bit may differ between devices
            torch.testing.assert_close(gpu.cpu(), cpu, rtol=2e-7, atol=0, msg=name)
        else:
            assert torch.equal(gpu.cpu(), cpu), name
