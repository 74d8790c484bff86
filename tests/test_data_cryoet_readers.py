"""Readers of the real cryo-ET formats, on small files written here with zarr, mrcfile and json."""
import json

import mrcfile
import numpy as np
import pytest
import zarr

from seqsi.data.cryoet import (
    DEFAULT_VOXEL_SPACING, TomogramReadError, inside, open_tomogram, read_picks, read_picks_file, read_tomogram,
)


def ramp(shape):
    """Every voxel a distinct value, so a wrong axis order or offset cannot go unnoticed."""
    return np.arange(np.prod(shape), dtype=np.float32).reshape(shape)


def write_czii_zarr(path, volume, spacing=10.012, axes=("z", "y", "x"), datasets_order=(0, 1)):
    """OME-Zarr v2 group as in the CZII data: .zattrs multiscales, arrays "0" (full) and "1" (2x binned)."""
    group = zarr.open_group(str(path), mode="w", zarr_format=2)
    levels = {0: volume, 1: volume[..., ::2, ::2, ::2]}
    for level, data in levels.items():
        group.create_array(str(level), shape=data.shape, dtype="float32", chunks=(4,) * data.ndim)[...] = data
    group.attrs["multiscales"] = [{
        "version": "0.4",
        "axes": [{"name": a, "type": "space" if a in "zyx" else "channel", "unit": "angstrom"} for a in axes],
        "datasets": [{"path": str(level), "coordinateTransformations": [
            {"type": "scale", "scale": [spacing * 2**level] * len(axes)}]} for level in datasets_order],
    }]


def test_ome_zarr_full_resolution_zyx_and_spacing(tmp_path):
    volume = ramp((6, 8, 10))
    write_czii_zarr(tmp_path / "wbp.zarr", volume)
    assert (tmp_path / "wbp.zarr" / ".zattrs").exists() and (tmp_path / "wbp.zarr" / "0" / ".zarray").exists()
    data, spacing = read_tomogram(tmp_path / "wbp.zarr")
    assert data.dtype == np.float32
    np.testing.assert_array_equal(data, volume)
    assert spacing == pytest.approx((10.012,) * 3)


def test_ome_zarr_picks_smallest_scale_even_if_listed_second(tmp_path):
    volume = ramp((6, 8, 10))
    write_czii_zarr(tmp_path / "t.zarr", volume, datasets_order=(1, 0))
    data, spacing = read_tomogram(tmp_path / "t.zarr")
    np.testing.assert_array_equal(data, volume)
    assert spacing == pytest.approx((10.012,) * 3)


def test_ome_zarr_axis_order_and_channel_axis(tmp_path):
    zyx = ramp((4, 6, 8))
    write_czii_zarr(tmp_path / "xyz.zarr", np.ascontiguousarray(zyx.transpose(2, 1, 0)), axes=("x", "y", "z"))
    np.testing.assert_array_equal(read_tomogram(tmp_path / "xyz.zarr")[0], zyx)
    write_czii_zarr(tmp_path / "yxz.zarr", np.ascontiguousarray(zyx.transpose(1, 2, 0)), axes=("y", "x", "z"))
    np.testing.assert_array_equal(read_tomogram(tmp_path / "yxz.zarr")[0], zyx)
    write_czii_zarr(tmp_path / "czyx.zarr", zyx[None], axes=("c", "z", "y", "x"))
    np.testing.assert_array_equal(read_tomogram(tmp_path / "czyx.zarr")[0], zyx)


def test_zarr_without_multiscales_and_plain_array(tmp_path):
    volume = ramp((4, 5, 6))
    group = zarr.open_group(str(tmp_path / "g.zarr"), mode="w", zarr_format=2)
    group.create_array("0", shape=volume.shape, dtype="float32")[...] = volume
    data, spacing = read_tomogram(tmp_path / "g.zarr")
    np.testing.assert_array_equal(data, volume)
    assert spacing is None
    array = zarr.open_array(str(tmp_path / "a.zarr"), mode="w", shape=volume.shape, dtype="float32", zarr_format=2)
    array[...] = volume
    np.testing.assert_array_equal(read_tomogram(tmp_path / "a.zarr")[0], volume)


def test_lazy_region_read(tmp_path):
    volume = ramp((8, 8, 8))
    write_czii_zarr(tmp_path / "t.zarr", volume)
    with open_tomogram(tmp_path / "t.zarr") as tomo:
        assert tomo.shape == (8, 8, 8)
        region = (slice(1, 4), slice(2, 7), slice(0, 3))
        np.testing.assert_array_equal(tomo.read(region), volume[region])


def write_mrc(path, volume, voxel_size=(8.0, 9.0, 10.0), compression=None):
    """`voxel_size` in x, y, z order as in the MRC header."""
    with mrcfile.new(str(path), overwrite=True, compression=compression) as mrc:
        mrc.set_data(volume)
        mrc.voxel_size = voxel_size


@pytest.mark.parametrize("name,compression", [("t.mrc", None), ("t.rec", None), ("t.mrc.gz", "gzip")])
def test_mrc_data_and_header_voxel_size(tmp_path, name, compression):
    volume = ramp((5, 6, 7))
    write_mrc(tmp_path / name, volume, compression=compression)
    data, spacing = read_tomogram(tmp_path / name)
    np.testing.assert_array_equal(data, volume)
    assert spacing == pytest.approx((10.0, 9.0, 8.0))  # z, y, x
    with open_tomogram(tmp_path / name) as tomo:
        np.testing.assert_array_equal(tomo.read((slice(1, 3), slice(0, 2), slice(4, 7))), volume[1:3, 0:2, 4:7])


def test_mrc_int16_and_missing_voxel_size(tmp_path):
    volume = ramp((3, 4, 5)).astype(np.int16)
    with mrcfile.new(str(tmp_path / "t.mrc")) as mrc:
        mrc.set_data(volume)
        mrc.voxel_size = 0.0
    data, spacing = read_tomogram(tmp_path / "t.mrc")
    assert data.dtype == np.float32 and spacing is None
    np.testing.assert_array_equal(data, volume.astype(np.float32))


@pytest.mark.parametrize("mapc,mapr,maps,order", [(3, 2, 1, (2, 1, 0)), (2, 3, 1, (2, 0, 1))])
def test_mrc_non_standard_axis_mapping(tmp_path, mapc, mapr, maps, order):
    zyx = ramp((3, 4, 5))
    stored = np.ascontiguousarray(zyx.transpose(order))  # file axes (sections, rows, columns) = (maps, mapr, mapc)
    with mrcfile.new(str(tmp_path / "t.mrc")) as mrc:
        mrc.set_data(stored)
        mrc.header.mapc, mrc.header.mapr, mrc.header.maps = mapc, mapr, maps
    np.testing.assert_array_equal(read_tomogram(tmp_path / "t.mrc")[0], zyx)


def test_unreadable_files_name_their_path(tmp_path):
    (tmp_path / "bad.mrc").write_bytes(b"not an mrc file at all" * 100)
    with pytest.raises(TomogramReadError, match="bad.mrc"):
        read_tomogram(tmp_path / "bad.mrc")
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(TomogramReadError, match="empty.zarr"):
        read_tomogram(tmp_path / "empty.zarr")
    group = zarr.open_group(str(tmp_path / "noarray.zarr"), mode="w", zarr_format=2)
    group.create_array("lowres", shape=(2, 2, 2), dtype="float32")
    with pytest.raises(TomogramReadError, match="noarray.zarr.*lowres"):
        read_tomogram(tmp_path / "noarray.zarr")
    with pytest.raises(FileNotFoundError, match="absent.mrc"):
        read_tomogram(tmp_path / "absent.mrc")
    flat = zarr.open_array(str(tmp_path / "flat.zarr"), mode="w", shape=(4, 4), dtype="float32", zarr_format=2)
    flat[...] = 0
    with pytest.raises(TomogramReadError, match="flat.zarr.*3D"):
        read_tomogram(tmp_path / "flat.zarr")


def write_picks(path, xyz_angstrom):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pickable_object_name": path.stem, "unit": "angstrom",
                                "points": [{"location": {"x": x, "y": y, "z": z}, "instance_id": 0}
                                           for x, y, z in xyz_angstrom]}))


def test_picks_converted_to_voxels_zyx(tmp_path):
    s = DEFAULT_VOXEL_SPACING
    write_picks(tmp_path / "Picks" / "ribosome.json", [(10 * s, 20 * s, 3 * s), (0.0, 0.0, 0.0)])
    write_picks(tmp_path / "Picks" / "apo-ferritin.json", [(1 * s, 2 * s, 5 * s)])
    picks, absent = read_picks(tmp_path / "Picks", s)
    assert "virus-like-particle" in absent and "ribosome" not in absent
    by_class = {(p.class_name, p.index): p for p in picks}
    assert by_class[("ribosome", 0)].class_id == 3
    assert by_class[("ribosome", 0)].centre == pytest.approx((3, 20, 10))
    assert by_class[("apo-ferritin", 0)].class_id == 0
    assert by_class[("apo-ferritin", 0)].centre == pytest.approx((5, 2, 1))
    anisotropic, _ = read_picks(tmp_path / "Picks", (20.0, 10.0, 5.0))
    assert [p.centre for p in anisotropic if p.class_name == "apo-ferritin"][0] == pytest.approx((5 * s / 20, 2 * s / 10, s / 5))


def test_malformed_picks_name_file_and_point(tmp_path):
    path = tmp_path / "ribosome.json"
    path.write_text(json.dumps({"points": [{"location": {"x": 1, "y": 2, "z": 3}}, {"location": {"x": 1}}]}))
    with pytest.raises(ValueError, match=r"ribosome.json.*point 1"):
        read_picks_file(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="ribosome.json"):
        read_picks_file(path)
    path.write_text(json.dumps({"points": None}))
    assert read_picks_file(path) == []


def test_inside_uses_voxel_extent():
    assert inside((0, 0, 0), (4, 4, 4)) and inside((-0.5, 3.49, 0), (4, 4, 4))
    assert not inside((-0.51, 0, 0), (4, 4, 4)) and not inside((0, 3.5, 0), (4, 4, 4))


def test_malformed_multiscales_is_a_clear_error(tmp_path):
    write_czii_zarr(tmp_path / "t.zarr", ramp((4, 4, 4)))
    group = zarr.open_group(str(tmp_path / "t.zarr"), mode="r+", zarr_format=2)
    group.attrs["multiscales"] = [{"datasets": [{"no_path": "0"}]}]
    with pytest.raises(TomogramReadError, match="t.zarr.*malformed multiscales"):
        read_tomogram(tmp_path / "t.zarr")


def test_ome_zarr_05_in_zarr_v3(tmp_path):
    volume = ramp((4, 6, 8))
    group = zarr.open_group(str(tmp_path / "v3.zarr"), mode="w", zarr_format=3)
    group.create_array("s0", shape=volume.shape, dtype="float32")[...] = volume
    group.attrs["ome"] = {"version": "0.5", "multiscales": [{
        "axes": [{"name": a, "type": "space", "unit": "nanometer"} for a in "zyx"],
        "datasets": [{"path": "s0", "coordinateTransformations": [{"type": "scale", "scale": [1.0, 1.0, 1.0]}]}]}]}
    data, spacing = read_tomogram(tmp_path / "v3.zarr")
    np.testing.assert_array_equal(data, volume)
    assert spacing == pytest.approx((10.0, 10.0, 10.0))
