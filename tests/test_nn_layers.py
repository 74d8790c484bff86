"""Each layer keeps its photometric identity to 1e-10 in float64; plain layers do not."""
import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings
from hypothesis import strategies as st

from seqsi.invariance import relative_error
from seqsi.nn import (AffineUpsample, ConvexSum, SortPool, SumToOneConv, SumToOneLinear, ZeroSumConv, constrain,
                      make_norm, pixel_shuffle)
from seqsi.nn.constrained import unconstrain

SCALES = st.one_of(st.sampled_from([0.01, 255.0]), st.floats(0.01, 255.0))
SHIFTS = st.one_of(st.sampled_from([-100.0, 100.0]), st.floats(-100.0, 100.0))
conv_cases = st.fixed_dictionaries({
    "dims": st.integers(1, 3), "kernel": st.integers(1, 4), "stride": st.integers(1, 2),
    "dilation": st.integers(1, 2), "groups": st.sampled_from([1, 2]), "reparam": st.sampled_from(["avg", "telescopic"]),
    "a": SCALES, "b": SHIFTS,
})


def _input(dims, channels=4, n=2):
    size = {1: 11, 2: 9, 3: 6}[dims]
    return torch.rand(n, channels, *([size] * dims), dtype=torch.float64)


@settings(max_examples=60, deadline=None)
@given(conv_cases)
def test_zero_sum_conv_is_shift_invariant_scale_equivariant(c):
    conv = ZeroSumConv(c["dims"], 4, 6, c["kernel"], stride=c["stride"], dilation=c["dilation"],
                       groups=c["groups"], reparam=c["reparam"]).double()
    x = _input(c["dims"])
    assert relative_error(conv(c["a"] * x + c["b"]), c["a"] * conv(x)) <= 1e-10


@settings(max_examples=60, deadline=None)
@given(conv_cases)
def test_sum_to_one_conv_is_affine_equivariant(c):
    conv = SumToOneConv(c["dims"], 4, 6, c["kernel"], stride=c["stride"], dilation=c["dilation"],
                        groups=c["groups"], reparam=c["reparam"]).double()
    x = _input(c["dims"])
    assert relative_error(conv(c["a"] * x + c["b"]), c["a"] * conv(x) + c["b"]) <= 1e-10


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_plain_conv_fails_the_same_checks(dims):
    conv = nn.Conv1d if dims == 1 else nn.Conv2d if dims == 2 else nn.Conv3d
    plain = conv(4, 6, 3, padding=1, padding_mode="reflect").double()
    no_bias = conv(4, 6, 3, padding=1, padding_mode="reflect", bias=False).double()
    x, a, b = _input(dims), 3.0, 5.0
    assert relative_error(plain(a * x + b), a * plain(x)) > 1e-2
    assert relative_error(plain(a * x + b), a * plain(x) + b) > 1e-2
    assert relative_error(no_bias(a * x + b), a * no_bias(x)) > 1e-2


def test_zero_padding_breaks_a_zero_sum_kernel():
    conv = ZeroSumConv(2, 3, 4, 3, padding_mode="zeros").double()
    x = _input(2, 3)
    assert relative_error(conv(3 * x + 5), 3 * conv(x)) > 1e-3


@pytest.mark.parametrize("reparam", ["avg", "telescopic"])
@pytest.mark.parametrize("kernel_sum", [0.0, 1.0])
def test_constraint_sums_and_inverse(reparam, kernel_sum):
    w = torch.randn(5, 3, 3, 3, dtype=torch.float64)
    k = constrain(w, kernel_sum, reparam)
    assert torch.allclose(k.flatten(1).sum(1), torch.full((5,), kernel_sum, dtype=torch.float64), atol=1e-12)
    # unconstrain recovers a free weight for any target kernel (used by convert to keep weights)
    target = torch.randn(5, 3, 3, 3, dtype=torch.float64)
    rebuilt = constrain(unconstrain(target, reparam), kernel_sum, reparam)
    expected = target - target.flatten(1).mean(1).view(5, 1, 1, 1) + kernel_sum / 27
    assert torch.allclose(rebuilt, expected, atol=1e-12)


@pytest.mark.parametrize("kernel_sum", [0.0, 1.0])
def test_telescopic_and_avg_kernels_by_hand(kernel_sum):
    """Each output channel's kernel (here 1 x 2 x 2) is flattened, then telescopic: roll(w, 1) - w
    + s/n, avg: w - mean(w) + s/n. Dyadic entries, so every value and sum is exact."""
    w = torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.0, 5.0, -1.0, 2.0]], dtype=torch.float64).view(2, 1, 2, 2)
    s = kernel_sum / 4
    telescopic = torch.tensor([[4 - 1, 1 - 2, 2 - 3, 3 - 4], [2 - 0, 0 - 5, 5 + 1, -1 - 2]], dtype=torch.float64) + s
    avg = torch.tensor([[-1.5, -0.5, 0.5, 1.5], [-1.5, 3.5, -2.5, 0.5]], dtype=torch.float64) + s  # means 2.5, 1.5
    for reparam, expected in (("telescopic", telescopic), ("avg", avg)):
        k = constrain(w, kernel_sum, reparam)
        assert k.shape == w.shape and torch.equal(k.flatten(1), expected), reparam
        assert torch.equal(k.flatten(1).sum(1), torch.full((2,), kernel_sum, dtype=torch.float64)), reparam


@settings(max_examples=20, deadline=None)
@given(dims=st.integers(1, 3), a=SCALES, b=SHIFTS)
def test_affine_upsample(dims, a, b):
    up = AffineUpsample(dims, 4, 3).double()
    x = _input(dims)
    y = up(x)
    assert y.shape == (2, 3, *[2 * s for s in x.shape[2:]])
    assert relative_error(up(a * x + b), a * y + b) <= 1e-10


def test_pixel_shuffle_matches_torch_in_2d_and_inverts_in_3d():
    x = torch.randn(2, 12, 3, 5)
    assert torch.equal(pixel_shuffle(x, 2), nn.functional.pixel_shuffle(x, 2))
    v = torch.arange(2 * 8 * 2 * 3 * 4, dtype=torch.float32).reshape(2, 8, 2, 3, 4)
    y = pixel_shuffle(v, 2)
    assert y.shape == (2, 1, 4, 6, 8)
    # output voxel (2i+r1, 2j+r2, 2k+r3) comes from input channel r1*4 + r2*2 + r3 at (i, j, k)
    assert y[1, 0, 2 * 1 + 1, 2 * 2 + 0, 2 * 3 + 1] == v[1, 1 * 4 + 0 * 2 + 1, 1, 2, 3]
    with pytest.raises(ValueError, match="not divisible"):
        pixel_shuffle(torch.randn(1, 6, 2, 2, 2), 2)


@settings(max_examples=30, deadline=None)
@given(a=SCALES, b=SHIFTS)
def test_sort_pool_commutes_with_positive_affine_maps(a, b):
    pool = SortPool(6)
    x = torch.randn(3, 6, 5, 5, dtype=torch.float64)
    y = pool(x)
    assert torch.equal(y[:, 0::2], torch.minimum(x[:, 0::2], x[:, 1::2]))
    assert torch.equal(y[:, 1::2], torch.maximum(x[:, 0::2], x[:, 1::2]))
    assert relative_error(pool(a * x + b), a * y + b) <= 1e-12
    relu = nn.ReLU()
    assert relative_error(relu(3 * x + 0.5), 3 * relu(x) + 0.5) > 1e-2  # a ReLU's kink does not move with b


@pytest.mark.parametrize("shape", [(2, 6, 7), (3, 6, 5, 5), (2, 6, 3, 4, 5)], ids=["1d", "2d", "3d"])
def test_sort_pool_gradient_goes_where_each_value_came_from(shape):
    pool = SortPool(6)
    x = torch.randn(*shape, dtype=torch.float64)
    x[:, 2] = x[:, 3]  # a tied pair: the identity order, as the paper's relu formulation has it
    x.requires_grad_()
    y = pool(x)
    g = torch.randn_like(y)
    y.backward(g)
    first, second = x.detach()[:, 0::2], x.detach()[:, 1::2]
    swapped = first > second  # the min came from the second channel of its pair
    assert torch.equal(x.grad[:, 0::2], torch.where(swapped, g[:, 1::2], g[:, 0::2]))
    assert torch.equal(x.grad[:, 1::2], torch.where(swapped, g[:, 0::2], g[:, 1::2]))
    assert torch.equal(x.grad[:, 2], g[:, 2])
    assert swapped.any() and (~swapped).any()  # both routes are exercised: passing g through unsorted fails
    small = torch.randn(1, 6, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(pool, (small,)) and torch.autograd.gradgradcheck(pool, (small,))


def test_sort_pool_rejects_odd_channels():
    with pytest.raises(ValueError, match="channels must be even, got 5"):
        SortPool(5)


def test_convex_sum_stays_in_unit_interval_and_is_affine():
    merge = ConvexSum().double()
    with torch.no_grad():
        merge.logit.fill_(40.0)
    assert 0.0 <= merge.alpha.item() <= 1.0
    with torch.no_grad():
        merge.logit.fill_(-0.7)
    s, t = torch.randn(2, 4, 5, dtype=torch.float64), torch.randn(2, 4, 5, dtype=torch.float64)
    assert relative_error(merge(3 * s + 2, 3 * t + 2), 3 * merge(s, t) + 2) <= 1e-12
    assert relative_error((3 * s + 2) + (3 * t + 2), 3 * (s + t) + 2) > 1e-2  # a plain sum doubles b


def test_sum_to_one_linear():
    lin = SumToOneLinear(8, 3).double()
    x = torch.randn(4, 8, dtype=torch.float64)
    assert relative_error(lin(0.01 * x + 100), 0.01 * lin(x) + 100) <= 1e-10


def _constrained_layers():
    return [ZeroSumConv(2, 3, 4, 3), SumToOneConv(3, 2, 4, 3, reparam="telescopic"), SumToOneLinear(5, 2),
            AffineUpsample(1, 4, 2), ConvexSum()]


def _sample_input(layer):
    if isinstance(layer, SumToOneLinear):
        return (torch.randn(2, 5),)
    if isinstance(layer, ConvexSum):
        return torch.randn(2, 3), torch.randn(2, 3)
    dims = 1 if isinstance(layer, AffineUpsample) else layer.dims
    return (torch.randn(2, layer[0].in_channels if dims == 1 else layer.in_channels, *([6] * dims)),)


@pytest.mark.parametrize("layer", _constrained_layers(), ids=lambda m: type(m).__name__)
def test_gradients_reach_every_constrained_parameter(layer):
    layer(*_sample_input(layer)).square().sum().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("layer", _constrained_layers(), ids=lambda m: type(m).__name__)
def test_state_dict_round_trip(layer, tmp_path):
    torch.save(layer.state_dict(), tmp_path / "w.pt")
    twin = _constrained_layers()[[type(m) for m in _constrained_layers()].index(type(layer))]
    twin.load_state_dict(torch.load(tmp_path / "w.pt", weights_only=True))
    inputs = _sample_input(layer)
    assert torch.equal(layer(*inputs), twin(*inputs))


def test_eval_cache_is_reused_then_invalidated_by_an_optimizer_step():
    conv = ZeroSumConv(2, 2, 3, 3)
    opt = torch.optim.SGD(conv.parameters(), lr=0.5)
    x = torch.randn(1, 2, 8, 8)
    conv.eval()
    with torch.no_grad():
        first = conv(x)
        assert conv.kernel() is conv.kernel()  # computed once, reused
    conv.train()
    conv(x).square().sum().backward()
    opt.step()
    conv.eval()
    with torch.no_grad():
        after = conv(x)
        fresh = nn.functional.conv2d(nn.functional.pad(x, (1, 1, 1, 1), mode="reflect"), constrain(conv.weight, 0.0))
    assert not torch.allclose(first, after)
    assert torch.equal(after, fresh)
    # an in-place change without train() in between is also seen (version counter)
    with torch.no_grad():
        conv.weight.mul_(2)
        assert torch.allclose(conv(x), 2 * after)


def test_cache_follows_dtype_changes():
    conv = ZeroSumConv(1, 1, 2, 3).eval()
    with torch.no_grad():
        conv(torch.randn(1, 1, 5))
        conv.double()
        assert conv(torch.randn(1, 1, 5, dtype=torch.float64)).dtype == torch.float64


def _normalised(x, groups=None):
    """(x - mean) / sqrt(var + 1e-5), biased var: per channel over the batch (groups None), else
    per sample over each of `groups` equal blocks of channels and all voxels."""
    if groups is None:
        dims = [0, *range(2, x.ndim)]
        mean, var = x.mean(dims, keepdim=True), x.var(dims, unbiased=False, keepdim=True)
        return (x - mean) / torch.sqrt(var + 1e-5)
    blocks = x.reshape(x.shape[0], groups, -1)
    mean, var = blocks.mean(-1, keepdim=True), blocks.var(-1, unbiased=False, keepdim=True)
    return ((blocks - mean) / torch.sqrt(var + 1e-5)).view_as(x)


# kind -> (groups of the hand computation, None: batch statistics; number of parameter tensors).
# 48 channels: the paper's group rule takes 16 groups (32 does not divide 48); instance and
# group norm have no affine parameters, as the paper's get_norm_layer.
NORM_CASES = {"batch": (None, 2), "instance": (48, 0), "layer": (1, 2), "group": (16, 0)}


@pytest.mark.parametrize("kind", NORM_CASES)
def test_norm_factory_normalises_as_computed_by_hand(kind):
    groups, n_params = NORM_CASES[kind]
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 48, 3, 4, 5, generator=gen, dtype=torch.float64)
    x = x * torch.rand(3, 48, 1, 1, 1, generator=gen, dtype=torch.float64) * 4 + torch.arange(3.0).view(3, 1, 1, 1, 1)
    norm = make_norm(kind, 3, 48).double().train()  # batch norm: the batch's own statistics
    assert len(list(norm.parameters())) == n_params
    torch.testing.assert_close(norm(x), _normalised(x, groups), rtol=1e-12, atol=1e-12)
    assert torch.equal(make_norm("none", 3, 48)(x), x)


def test_norm_factory_mix_and_errors():
    assert isinstance(make_norm("mix", 2, 8, stage=1), nn.InstanceNorm2d)
    assert isinstance(make_norm("mix", 2, 8, stage=2), nn.BatchNorm2d)
    assert make_norm("layer", 2, 8).num_groups == 1
    assert make_norm("group", 2, 48).num_groups == 16  # the paper's rule: 32, else the largest power of 2
    assert make_norm("group", 2, 96).num_groups == 32 and make_norm("group", 2, 6).num_groups == 2
    with pytest.raises(ValueError, match="norm must be one of"):
        make_norm("weird", 2, 8)


def test_instance_and_group_norm_have_no_parameters_as_the_paper():
    """The paper's nn.InstanceNorm2d(C) is affine-free: an instance-norm CIFAR ResNet has exactly the
    parameters of the norm-free one (the affine version added 6,272 at paper widths)."""
    from seqsi import build_model

    assert not list(make_norm("instance", 2, 64).parameters()) and not list(make_norm("group", 2, 64).parameters())
    assert len(list(make_norm("batch", 2, 64).parameters())) == 2 == len(list(make_norm("layer", 2, 64).parameters()))
    count = {norm: sum(p.numel() for p in build_model("cifar_resnet", "seqsi", norm=norm).parameters())
             for norm in ("none", "instance", "batch")}
    assert count["instance"] == count["none"] and count["batch"] - count["none"] == 6272


@pytest.mark.parametrize("bad", [0, 4, 2.0, "2"])
def test_dims_outside_1_to_3_are_rejected(bad):
    with pytest.raises(ValueError, match="dims must be the number of spatial dimensions, 1, 2 or 3"):
        ZeroSumConv(bad, 1, 1, 3)
