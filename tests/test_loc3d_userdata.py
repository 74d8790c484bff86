"""A user's own folder of 3D TIFFs and masks (written here with plain tifffile, not by our
generator) trains and evaluates; odd but valid input works, bad input fails clearly."""
import numpy as np
import pytest
import tifffile
import torch

from seqsi.engine.localization import evaluate_run, read_per_image, tiny_config, train_localizer


def _volume(rng, shape, centres, labels_of):
    grid = np.indices(shape)
    image = rng.poisson(20, shape).astype(np.float64)
    mask = np.zeros(shape, np.uint16)
    for centre, label in zip(centres, labels_of):
        inside = sum(((g - c) / r) ** 2 for g, c, r in zip(grid, centre, (2, 4, 4))) <= 1
        mask[inside] = label
        image[inside] += 300
    return image.astype(np.uint16), mask


def _write(root, split, name, image, mask):
    for sub, array in (("images", image), ("masks", mask)):
        if sub == "masks" and mask is None:
            continue
        (root / split / sub).mkdir(parents=True, exist_ok=True)
        tifffile.imwrite(root / split / sub / f"{name}.tif", array)


@pytest.fixture(scope="module")
def user_folder(tmp_path_factory):
    """train: 3 volumes (one smaller than the patch), no val/ (held out of train), test: label ids
    with gaps, an artifact set without masks."""
    root = tmp_path_factory.mktemp("user3d") / "volumes"
    rng = np.random.default_rng(0)
    for i in range(3):
        shape = (12, 24, 24) if i == 2 else (16, 40, 40)  # 12 < patch 16 along z
        centres = rng.uniform([3, 6, 6], np.array(shape) - [3, 6, 6], size=(3, 3))
        _write(root, "train", f"cells_{i}", *_volume(rng, shape, centres, (1, 2, 3)))
    image, mask = _volume(rng, (16, 40, 40), [(8, 10, 10), (8, 30, 28), (5, 10, 30)], (2, 7, 40))
    _write(root, "test", "cells_test", image, mask)
    bright = image.copy()
    bright[6:10, 20:22, 5:35] += 2000  # a bright filament
    _write(root, "test/arti_5", "cells_test", bright, None)
    return root


@pytest.fixture(scope="module")
def trained(user_folder, tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    config = tiny_config(user_folder, dims=3, mode="seqsi", out=tmp_path_factory.mktemp("runs"))
    config["data"].update(val_count=1, spacing=[2.0, 1.0, 1.0])  # anisotropic voxels as a parameter
    config["train"]["epochs"] = 2
    config["augment"]["group"] = "All"  # photometric augmentation inside a real training loop
    config["model"]["widths"] = [4, 8]
    result = train_localizer(config)
    yield result["run_dir"]
    torch.set_num_threads(threads)


def test_user_folder_trains_and_evaluates_with_clean_masks_for_artifacts(trained):
    with pytest.raises(FileNotFoundError, match="arti_5: artifact set without a masks/ folder"):
        evaluate_run(trained)
    rows = evaluate_run(trained, eval_overrides={"artifact_masks": "clean"})
    tested = {r["testset"] for r in rows}
    assert "arti_5" in tested and "none" in tested and len(tested) == 13
    details = read_per_image(trained)
    assert {int(d["n_ref"]) for d in details} == {3}  # labels 2, 7, 40: three objects
    assert (trained / "overlays" / "none" / "cells_test.png").is_file()
    assert trained.parts[-2] == "All" and {r["aug"] for r in rows} == {"All"}
    with pytest.raises(ValueError, match="no test image named nope"):
        evaluate_run(trained, eval_overrides={"artifact_sets": "none"}, overlay_images=["nope"])


def test_bad_spacing_is_refused(user_folder, tmp_path):
    config = tiny_config(user_folder, dims=3, out=tmp_path)
    config["data"].update(val_count=1, spacing=[0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="spacing"):
        train_localizer(config)
