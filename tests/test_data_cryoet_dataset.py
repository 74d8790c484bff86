"""The patch dataset over a split folder written here by hand (metadata.csv + .npy), independent of prepare."""
import itertools

import numpy as np
import pytest
import torch

from seqsi.data.cryoet import CLASSES, METADATA_COLUMNS, CryoETPatchDataset, augment, center_crop_or_pad, check_split
from seqsi.io import write_csv


def make_split(folder, n=6, shape=(8, 8, 8), seed=0):
    rng = np.random.default_rng(seed)
    (folder / "patches").mkdir(parents=True)
    rows = []
    for i in range(n):
        name = f"patches/TS_{i}__{CLASSES[i % 6]}__00000.npy"
        np.save(folder / name, rng.normal(size=shape).astype(np.float32), allow_pickle=False)
        rows.append({"patch": name, "run": f"TS_{i}", "class_id": i % 6, "class_name": CLASSES[i % 6],
                     **{f"centre_{a}": 4 for a in "zyx"}, **{f"origin_{a}": 0 for a in "zyx"},
                     **{f"shape_{a}": s for a, s in zip("zyx", shape)}})
    write_csv(folder / "metadata.csv", rows, fieldnames=METADATA_COLUMNS)
    return rows


def test_center_crop_is_centred_and_pad_uses_patch_mean():
    volume = np.arange(6 * 7 * 3, dtype=np.float32).reshape(6, 7, 3)
    out = center_crop_or_pad(volume, (4, 5, 5))
    assert out.shape == (4, 5, 5)
    np.testing.assert_array_equal(out[:, :, 1:4], volume[1:5, 1:6, :])
    cropped_mean = volume.mean()
    assert np.all(out[:, :, 0] == cropped_mean) and np.all(out[:, :, 4] == cropped_mean)
    assert out[:, :, 0].mean() != 0.0  # not zero padding
    np.testing.assert_array_equal(center_crop_or_pad(volume, volume.shape), volume)


def all_allowed(volume):
    """Every result the paper's augmentation may give: quarter turns in (z, x) or (z, y), then an optional flip."""
    out = []
    for plane in ((0, 2), (0, 1)):
        for k in range(4):
            turned = np.rot90(volume, k, axes=plane)
            out += [turned] + [np.flip(turned, axis=a) for a in range(3)]
    return out


def test_augment_keeps_shape_and_draws_only_allowed_transforms():
    volume = np.random.default_rng(0).normal(size=(5, 5, 5))
    allowed = all_allowed(volume)
    seen = set()
    for seed in range(60):
        out = augment(volume, np.random.default_rng(seed))
        assert out.shape == volume.shape
        matches = [i for i, a in enumerate(allowed) if np.array_equal(a, out)]
        assert matches, "augmentation produced a transform outside the allowed set"
        seen.add(out.tobytes())
    assert len(seen) > 10
    flat = np.random.default_rng(1).normal(size=(4, 6, 4))
    for seed in range(20):  # (z, y) is not square here: only half turns there, shape kept
        assert augment(flat, np.random.default_rng(seed)).shape == flat.shape


def signed_permutation(volume, out):
    """(axis order, flipped axes) of the one axis-aligned symmetry that maps `volume` onto `out`."""
    for order in itertools.permutations(range(3)):
        for flipped in itertools.chain.from_iterable(itertools.combinations(range(3), n) for n in range(4)):
            if np.array_equal(np.flip(np.transpose(volume, order), flipped), out):
                return order, flipped
    raise AssertionError("not an axis-aligned symmetry")


def test_augment_probabilities_are_the_papers():
    """Rotation with p = 0.5 and k in {1, 2, 3}, then a flip with p = 0.5: the output is the input
    itself 1/4 of the time (1/8 when k = 0 is allowed), and an odd turn swaps z with x, or z with y,
    1/6 of the time each (0.5 * 1/2 plane * 2/3 odd k)."""
    volume = np.random.default_rng(0).normal(size=(5, 5, 5))
    n = 3000
    draws = [signed_permutation(volume, augment(volume, np.random.default_rng([7, i]))) for i in range(n)]
    identity = sum(order == (0, 1, 2) and not flipped for order, flipped in draws) / n
    swap_zx = sum(order == (2, 1, 0) for order, _ in draws) / n
    swap_zy = sum(order == (1, 0, 2) for order, _ in draws) / n
    assert abs(identity - 1 / 4) < 0.035
    assert abs(swap_zx - 1 / 6) < 0.03 and abs(swap_zy - 1 / 6) < 0.03
    assert {order for order, _ in draws} == {(0, 1, 2), (2, 1, 0), (1, 0, 2)}  # y and x are never swapped


def test_dataset_items_labels_and_reproducible_augmentation(tmp_path):
    rows = make_split(tmp_path / "split")
    plain = CryoETPatchDataset(tmp_path / "split")
    assert len(plain) == 6 and plain.class_counts() == [1] * 6
    x, y = plain[2]
    assert x.shape == (1, 8, 8, 8) and x.dtype == torch.float32 and y == 2
    np.testing.assert_array_equal(x[0].numpy(), np.load(tmp_path / "split" / rows[2]["patch"]))
    small = CryoETPatchDataset(tmp_path / "split", 6)
    assert small[0][0].shape == (1, 6, 6, 6)
    big = CryoETPatchDataset(tmp_path / "split", (10, 8, 12))
    assert big[0][0].shape == (1, 10, 8, 12)
    a = CryoETPatchDataset(tmp_path / "split", augment=True, seed=3)
    b = CryoETPatchDataset(tmp_path / "split", augment=True, seed=3)
    for i in range(len(a)):
        xa, ya = a[i]
        assert ya == plain.labels[i] and xa.shape == (1, 8, 8, 8)
        assert torch.equal(xa, b[i][0])
        assert torch.equal(xa.flatten().sort().values, plain[i][0].flatten().sort().values)  # a voxel permutation
    first = [a[i][0] for i in range(len(a))]
    a.set_epoch(1)
    assert any(not torch.equal(first[i], a[i][0]) for i in range(len(a)))


def test_dataset_rejects_patch_files_that_do_not_match_metadata(tmp_path):
    rows = make_split(tmp_path / "split")
    bad = tmp_path / "split" / rows[3]["patch"]
    np.save(bad, np.zeros((8, 8, 7), np.float32))
    with pytest.raises(ValueError, match=f"{bad.name}.*does not match metadata.csv"):
        CryoETPatchDataset(tmp_path / "split")
    np.save(bad, np.zeros((8, 8, 8), np.float64))
    with pytest.raises(ValueError, match=bad.name):
        CryoETPatchDataset(tmp_path / "split")
    bad.unlink()
    with pytest.raises(FileNotFoundError, match=bad.name):
        CryoETPatchDataset(tmp_path / "split")
    bad.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ValueError, match=bad.name):
        CryoETPatchDataset(tmp_path / "split")


def test_dataset_rejects_inconsistent_class_and_empty_or_missing_split(tmp_path):
    make_split(tmp_path / "split")
    text = (tmp_path / "split" / "metadata.csv").read_text().replace("ribosome", "Ribosome")
    (tmp_path / "split" / "metadata.csv").write_text(text)
    with pytest.raises(ValueError, match="Ribosome"):
        CryoETPatchDataset(tmp_path / "split")
    (tmp_path / "empty").mkdir()
    write_csv(tmp_path / "empty" / "metadata.csv", [], fieldnames=METADATA_COLUMNS)
    with pytest.raises(ValueError, match="empty"):
        check_split(tmp_path / "empty")
    with pytest.raises(ValueError, match="empty"):
        CryoETPatchDataset(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        check_split(tmp_path / "nowhere")
