"""Orthogonal views and 2D overlays: PNG files that show the volume and the right points."""
import matplotlib.image as mpimg
import numpy as np
import pytest
import torch

from seqsi.report.views import save_orthogonal_views, save_overlay_2d

GREEN = np.array([0x39, 0xFF, 0x14]) / 255  # the first point set's colour


def _green_pixels(path) -> int:
    rgb = mpimg.imread(path)[..., :3]
    return int((np.abs(rgb - GREEN).max(axis=-1) < 0.12).sum())


def _blob_volume(shape=(8, 32, 32), centre=(4, 16, 16)):
    z, y, x = np.indices(shape)
    return np.exp(-((z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2) / 8.0).astype(np.float32)


def test_orthogonal_views_write_png_in_both_projections(tmp_path):
    vol = _blob_volume()
    points = {"ground truth": np.array([[4.0, 16, 16]]), "detected": np.array([[4.0, 17, 15], [1, 2, 3]])}
    for projection in ("slice", "max"):
        path = tmp_path / f"{projection}.png"
        save_orthogonal_views(vol, path, points=points, title="blob", projection=projection, spacing=(0.4, 0.2, 0.2))
        rgb = mpimg.imread(path)
        assert rgb.ndim == 3 and rgb.shape[0] > 100 and rgb[..., :3].std() > 0.05
    assert sorted(p.name for p in tmp_path.iterdir()) == ["max.png", "slice.png"]  # no temp files left


def test_anisotropic_spacing_sets_the_panel_proportions(tmp_path):
    vol = _blob_volume(shape=(8, 16, 64), centre=(4, 8, 32))
    save_orthogonal_views(vol, tmp_path / "iso.png")  # (16 + 8) tall, (64 + 8) wide
    save_orthogonal_views(vol, tmp_path / "aniso.png", spacing=(4.0, 1.0, 1.0))  # (16 + 32) tall, (64 + 32) wide
    iso, aniso = mpimg.imread(tmp_path / "iso.png"), mpimg.imread(tmp_path / "aniso.png")
    assert iso.shape[1] == aniso.shape[1]
    assert aniso.shape[0] / aniso.shape[1] > 1.3 * iso.shape[0] / iso.shape[1]


def test_points_show_only_near_the_displayed_slice(tmp_path):
    vol = np.zeros((20, 32, 32), np.float32)
    near, far = tmp_path / "near.png", tmp_path / "far.png"
    save_orthogonal_views(vol, near, points={"gt": np.array([[9.5, 8.0, 24.0]])})  # slices cut at z=10, y=16, x=16
    save_orthogonal_views(vol, far, points={"gt": np.array([[1.0, 2.0, 2.0]])})  # far from every slice
    legend_only = _green_pixels(far)
    assert _green_pixels(near) > legend_only + 20
    save_orthogonal_views(vol, far, points={"gt": np.array([[1.0, 2.0, 2.0]])}, projection="max")  # projections: all
    assert _green_pixels(far) > legend_only + 40


def test_overlay_2d_accepts_tensors_and_draws_points(tmp_path):
    image = torch.rand(1, 1, 40, 60)
    save_overlay_2d(image, tmp_path / "none.png")
    save_overlay_2d(image, tmp_path / "pts.png", points={"gt": [[10, 10], [30, 50]], "pred": np.zeros((0, 2))},
                    title="overlay")
    assert _green_pixels(tmp_path / "pts.png") > _green_pixels(tmp_path / "none.png") + 20
    rgb = mpimg.imread(tmp_path / "none.png")
    assert rgb.shape[1] > rgb.shape[0]  # 60 wide, 40 tall


def test_bad_inputs_are_refused(tmp_path):
    vol = _blob_volume()
    with pytest.raises(ValueError, match="3D"):
        save_orthogonal_views(vol[0], tmp_path / "a.png")
    with pytest.raises(ValueError, match=r"points\['gt'\].*\(K, 3\)"):
        save_orthogonal_views(vol, tmp_path / "a.png", points={"gt": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="projection"):
        save_orthogonal_views(vol, tmp_path / "a.png", projection="mean")
    with pytest.raises(ValueError, match="spacing"):
        save_orthogonal_views(vol, tmp_path / "a.png", spacing=(1, -1, 1))
    with pytest.raises(ValueError, match="at must"):
        save_orthogonal_views(vol, tmp_path / "a.png", at=(99, 0, 0))
    with pytest.raises(ValueError, match="2D"):
        save_overlay_2d(vol, tmp_path / "a.png")
    assert not list(tmp_path.iterdir())


def test_figures_leave_the_users_matplotlib_state_alone(tmp_path):
    """Drawing a report never imports pyplot nor switches the backend of, say, a notebook."""
    import os
    import subprocess
    import sys

    code = (
        "import sys, matplotlib, numpy as np\n"
        "before = matplotlib.get_backend()\n"
        "from seqsi.report.views import save_overlay_2d, save_orthogonal_views\n"
        "from seqsi.report.plots import plot_curves\n"
        f"save_overlay_2d(np.random.rand(16, 16), r'{tmp_path / 'o.png'}', points={{'gt': [[3, 4]]}})\n"
        f"save_orthogonal_views(np.random.rand(6, 16, 16), r'{tmp_path / 'v.png'}')\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
        "assert matplotlib.get_backend() == before, (before, matplotlib.get_backend())\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "svg"})
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "o.png").stat().st_size > 0 and (tmp_path / "v.png").stat().st_size > 0
