"""One classification path for every dims: the CIFAR-10/digits and the CZI configs train through the
same engine function into the same run-folder layout; the batched crop + flip for any dims; the
registry of image data sets."""
from pathlib import Path

import pytest
import torch
import yaml

from seqsi.data.classification import IMAGE_DATASETS, ImageTensorDataset, TrainingData, load_image_dataset, random_crop_flip
from seqsi.engine import load_checkpoint, load_config, load_model, parse_override
from seqsi.engine.classification import load_splits, make_augment, train_classifier
from seqsi.io import read_csv

ROOT = Path(__file__).resolve().parents[1]
TINY_2D = ["model.widths=[4,8,8]", "model.blocks=[1,1,1]"]
TINY_3D = ["model.widths=[4,4,4,4]", "model.blocks=[1,1,1,1]"]


def experiment_config(path: str, *overrides: str) -> dict:
    """An experiment's quick config, two short epochs, with overrides, as train.py resolves it."""
    config = load_config(ROOT / path, "quick", [parse_override(o) for o in
                                                ("train.epochs=2", "train.progress=false", *overrides)])
    config["seed"] = 1
    return config


def volumes(n: int, classes: int, seed: int) -> ImageTensorDataset:
    """Random 1-channel 8^3 volumes with labels, in memory: a stand-in for the prepared patch folders."""
    generator = torch.Generator().manual_seed(seed)
    return ImageTensorDataset(torch.rand(n, 1, 8, 8, 8, generator=generator),
                              torch.randint(0, classes, (n,), generator=generator))


def test_one_path_trains_a_2d_and_a_3d_classifier_into_the_same_run_layout(tmp_path):
    images = experiment_config("classification/cifar10/configs/digits.yaml", "data.train_limit=96", *TINY_2D)
    splits = load_splits(images["data"])
    model_2d, _ = train_classifier(images, splits.holdout(0.25, 1), tmp_path / "2d", {"experiment": "cifar10"})

    patches = experiment_config("classification/czi/configs/czi.yaml", "train.batch_size=4", *TINY_3D)
    classes = tuple("abcdef")  # the resnet18 preset's 6 classes, as CZI's
    data = TrainingData("czi/volumes", volumes(12, 6, 0), volumes(8, 6, 1), dims=3, classes=classes)
    model_3d, _ = train_classifier(patches, data, tmp_path / "3d", {"experiment": "czi"})

    layout = {name: sorted(p.name for p in (tmp_path / name).iterdir()) for name in ("2d", "3d")}
    assert layout["2d"] == layout["3d"]
    assert {"config.yaml", "metrics.csv", "last.pt", "best.pt"} <= set(layout["2d"])
    for name, config, model, dims, shape in (("2d", images, model_2d, 2, (3, 1, 8, 8)),
                                             ("3d", patches, model_3d, 3, (3, 1, 8, 8, 8))):
        run = tmp_path / name
        assert yaml.safe_load((run / "config.yaml").read_text()) == config
        state = load_checkpoint(run / "last.pt")
        assert state["model_spec"]["dims"] == dims and state["epoch"] == 2 and state["config"] == config
        assert len(read_csv(run / "metrics.csv")) == 2
        x = torch.rand(shape)
        with torch.no_grad():  # last.pt holds the returned model's weights
            assert torch.equal(load_model(run / "last.pt").eval()(x), model.eval()(x))
    assert load_checkpoint(tmp_path / "2d" / "last.pt")["dataset"] == "digits"
    # the 3D run kept the CZI settings: no image in_channels in its spec, macro accuracy selecting best.pt
    state = load_checkpoint(tmp_path / "3d" / "best.pt")
    assert state["dataset"] == "czi/volumes" and "in_channels" not in state["model_spec"]["config"]
    assert state["monitor"] == "macro_accuracy" and state["best"] == state["metrics"]["macro_accuracy"]
    assert "val_macro_accuracy" in read_csv(tmp_path / "3d" / "metrics.csv")[0]
    assert "val_macro_accuracy" not in read_csv(tmp_path / "2d" / "metrics.csv")[0]  # digits monitors accuracy


def reference_crop_flip(x, seed, padding, flip):
    """Per sample: the window at the drawn offsets of the zero-padded sample, then maybe mirrored."""
    generator = torch.Generator().manual_seed(seed)
    n, spatial = len(x), x.shape[2:]
    starts = [torch.randint(0, 2 * padding + 1, (n,), generator=generator) for _ in spatial] if padding else []
    mirrored = torch.rand(n, generator=generator) < 0.5 if flip else torch.zeros(n, dtype=torch.bool)
    out = []
    for i in range(n):
        sample = torch.nn.functional.pad(x[i], (padding,) * (2 * len(spatial)))
        if padding:
            sample = sample[(slice(None), *(slice(s[i], s[i] + size) for s, size in zip(starts, spatial)))]
        out.append(sample.flip(-1) if mirrored[i] else sample)
    return torch.stack(out)


@pytest.mark.parametrize("shape", [(6, 3, 7, 9), (5, 2, 4, 6, 5)])
def test_random_crop_flip_cuts_each_samples_own_window_in_2d_and_3d(shape):
    x = torch.rand(shape)
    for padding, flip in ((2, True), (1, False), (0, True)):
        out = random_crop_flip(x, torch.Generator().manual_seed(4), padding, flip)
        assert out.shape == x.shape and out.is_contiguous()
        assert torch.equal(out, reference_crop_flip(x, 4, padding, flip)), (padding, flip)
    assert not torch.equal(random_crop_flip(x, torch.Generator().manual_seed(4), 2, True), x)


def test_augmentation_and_data_sets_come_from_the_config():
    czi = load_config(ROOT / "classification/czi/configs/czi.yaml")
    assert make_augment(czi) is None  # the patches are turned and flipped by their dataset, not batched
    digits = load_config(ROOT / "classification/cifar10/configs/digits.yaml")
    x, y = torch.rand(4, 1, 8, 8), torch.arange(4)
    out, labels = make_augment(digits)(x, y, torch.Generator().manual_seed(0))
    assert torch.equal(out, reference_crop_flip(x, 0, padding=1, flip=False)) and labels is y

    assert set(IMAGE_DATASETS) == {"cifar10", "digits"}
    assert load_image_dataset("digits").train_x.shape[1:] == (1, 8, 8)
    with pytest.raises(ValueError, match="unknown dataset 'mnist'; valid: cifar10, digits"):
        load_image_dataset("mnist")


def test_model_section_keeps_an_explicit_avg_beside_a_telescopic_default():
    """A localization config says reparam: telescopic; `--mode seqsi_avg` must stay avg once the
    train script has stored the parsed mode back (the bare registry name `seqsi` would not)."""
    from seqsi.engine.config import ModelSection

    for typed, family, reparam in [("seqsi_avg", "seqsi", "avg"), ("seqsi", "seqsi", "telescopic"),
                                   ("affeq_telescopic", "affeq", "telescopic"), ("standard", "standard", "avg")]:
        config = {"model": {"name": "drunet", "mode": typed, "reparam": "telescopic"}}
        section = ModelSection.of(config)
        assert (section.mode.family, section.mode.reparam) == (family, reparam)
        config["model"]["mode"] = section.mode_key
        assert ModelSection.of(config).mode == section.mode
    assert ModelSection.of({"model": {"mode": "seqsi", "reparam": "telescopic"}}).mode_key == "seqsi_telescopic"
    assert ModelSection.of({"model": {"mode": "seqsi_avg", "reparam": "telescopic"}}).mode_key == "seqsi_avg"
