"""Cryo-ET (CZII) side by side: the paper's ResNet3D against ours on copied weights, its split on the
7 Kaggle run names (its own prepare script, run on an empty copy of the Kaggle layout), its metric
(torchmetrics), its crop/pad and augmentation, and its hyper-parameters."""
from __future__ import annotations

import ast
import contextlib
import io
import itertools
import json
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from .check import Check, close
from .cifar10 import copy_randomised
from .paper_import import _placeholder_module, import_paper

FOLDER = "classification/czi"
KAGGLE_RUNS = ["TS_5_4", "TS_69_2", "TS_6_4", "TS_6_6", "TS_73_6", "TS_86_3", "TS_99_9"]
MODES = {"standard": "standard", "seqsi": "seqsi", "se": "seq"}  # the paper's ResNet3D: any other mode = plain


@contextlib.contextmanager
def _without_pandas():
    """The paper's data scripts import pandas only to read and write metadata.csv, which these checks
    never reach: a placeholder stands in when pandas is not installed."""
    import importlib.util

    if importlib.util.find_spec("pandas") is not None:
        yield
        return
    sys.modules["pandas"] = _placeholder_module("pandas")
    try:
        yield
    finally:
        sys.modules.pop("pandas", None)


def model_checks(paper_repo) -> list[Check]:
    from seqsi import build_model

    (resnet3d,) = import_paper(paper_repo, FOLDER, "models.resnet3d")
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1, 1, 16, 16, 16, generator=generator, dtype=torch.float64) * 3 - 1
    checks = []
    for paper_mode, our_mode in MODES.items():
        theirs = resnet3d.ResNet3D(in_channels=1, num_classes=6, mode=paper_mode).double()
        ours = build_model("resnet18", our_mode, 3).double()
        name = f"ResNet3D {paper_mode}" + (f" (ours: {our_mode})" if our_mode != paper_mode else "")
        mismatch = copy_randomised(theirs, ours, generator, "czi", name)
        if mismatch:
            checks.append(mismatch)
            continue
        outputs = []
        for train in (False, True):
            theirs.train(train), ours.train(train)
            with torch.no_grad():
                outputs.append((ours(x), theirs(x)))
        checks.append(close("czi", f"{name} logits", torch.cat([o for o, _ in outputs]),
                            torch.cat([t for _, t in outputs]),
                            detail=f"{sum(p.numel() for p in ours.parameters()):,} parameters each; 16^3 input, eval and train mode, float64; "
                                   f"max logit {torch.cat([t for _, t in outputs]).abs().max().item():.2g}"))
    return checks


def _kaggle_layout(root: Path) -> None:
    """The Kaggle CZII folders of the 7 training runs, one pick each, no tomograms."""
    for run in KAGGLE_RUNS:
        (root / "train" / "static" / "ExperimentRuns" / run / "VoxelSpacing10.000").mkdir(parents=True)
        picks = root / "train" / "overlay" / "ExperimentRuns" / run / "Picks"
        picks.mkdir(parents=True)
        (picks / "ribosome.json").write_text(json.dumps({"points": [{"location": {"x": 100.0, "y": 100.0,
                                                                                   "z": 100.0}}]}))


def split_check(paper_repo) -> Check:
    import warnings

    from seqsi.data.cryoet import prepare_classification_data

    folder = Path(paper_repo) / FOLDER
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "czii"
        _kaggle_layout(root)
        argv = sys.argv
        sys.argv = ["prepare_classification_data.py", "--data_root", str(root), "--output_dir", str(Path(tmp) / "out"),
                    "--config_file", str(folder / "config" / "particle_config.py"), "--patch_size", "8", "8", "8"]
        printed = io.StringIO()
        try:
            with _without_pandas():
                (prepare,) = import_paper(paper_repo, FOLDER, "prepare_classification_data")
                with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
                    prepare.main()
        finally:
            sys.argv = argv
        text = printed.getvalue()
        lists = {key: re.search(rf"used for {key} \(\d+\):\s*\n(\[.*?\])", text) for key in ("VALIDATION", "TEST")}
        if not all(lists.values()):
            return Check("czi", "split of the 7 Kaggle runs", None, False, "the paper's script printed no split")
        val, test = (sorted(ast.literal_eval(m.group(1))) for m in lists.values())
        paper = {"train": sorted(set(KAGGLE_RUNS) - set(val) - set(test)), "val": val, "test": test}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = prepare_classification_data(root, Path(tmp) / "ours", patch_size=8, progress=False)["splits"]
    return Check("czi", "split of the 7 Kaggle runs", None, ours == paper,
                 f"paper's prepare_classification_data.py: test {paper['test']}, val {paper['val']}; ours: test "
                 f"{ours['test']}, val {ours['val']}")


def metric_checks() -> list[Check]:
    from seqsi.engine.tasks import Classification

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "classification" / "czi"))
    try:
        import czi as ours
    finally:
        sys.path.pop(0)
    try:
        from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score
    except ImportError:
        return [Check("czi", "macro accuracy and macro-F1", None, False,
                      "needs torchmetrics (the paper's dependency): pip install torchmetrics")]
    rng = np.random.default_rng(0)
    cases = []
    for absent in ((), (5,), (4, 5), (0, 2, 5)):
        present = [c for c in range(6) if c not in absent]
        labels = rng.choice(present, 200)
        predictions = np.where(rng.random(200) < 0.5, labels, rng.integers(0, 6, 200))  # may predict absent ones
        cases.append((labels, predictions))
    ours_values, paper_values = [], []
    for labels, predictions in cases:
        logits = torch.nn.functional.one_hot(torch.as_tensor(predictions), 6).double()
        target = torch.as_tensor(labels)
        accuracy, f1 = MulticlassAccuracy(num_classes=6), MulticlassF1Score(num_classes=6, average="macro")
        for i in range(0, 200, 8):  # batch by batch, as in training
            accuracy.update(logits[i:i + 8], target[i:i + 8]), f1.update(logits[i:i + 8], target[i:i + 8])
        task = Classification(num_classes=6)
        sums = [task.metric_sums(logits[i:i + 8], target[i:i + 8]) for i in range(0, 200, 8)]
        validation = task.summarise({k: sum(float(s[k]) for s in sums) / 200 for k in sums[0]})
        scores = ours.scores(labels, predictions, 6)
        ours_values.append([scores["macro_accuracy"], validation["macro_accuracy"], scores["macro_f1"]])
        paper_values.append([float(accuracy.compute())] * 2 + [float(f1.compute())])
    ours_values, paper_values = np.array(ours_values), np.array(paper_values)
    return [close("czi", "macro accuracy (test scores and validation sums) vs MulticlassAccuracy(num_classes=6)",
                  ours_values[:, :2], paper_values[:, :2], tol=1e-6,
                  detail="4 cases, 0 to 3 classes absent from the labels; torchmetrics computes in float32"),
            close("czi", "macro-F1 vs MulticlassF1Score(average='macro')", ours_values[:, 2], paper_values[:, 2],
                  tol=1e-6, detail="same cases")]


def data_checks(paper_repo) -> list[Check]:
    from seqsi.data.cryoet import augment, center_crop_or_pad

    with _without_pandas():
        (dataloader,) = import_paper(paper_repo, FOLDER, "dataloader")
    dataset = dataloader.CryoETClassificationDataset
    rng = np.random.default_rng(0)
    worst, target = 0.0, (8, 8, 8)
    for shape in [(8, 8, 8), (11, 6, 8), (5, 13, 9), (6, 6, 6), (12, 12, 12)]:
        volume = rng.normal(size=shape).astype(np.float32)
        holder = type("Holder", (), {"target_patch_size": target})()
        theirs = dataset._crop_or_pad_to_target(holder, volume)
        worst = max(worst, float(np.abs(center_crop_or_pad(volume, target) - theirs).max()))
    checks = [Check("czi", "centre crop / pad with the patch mean", worst, worst == 0.0, "5 shapes, padded and cropped")]

    # augmentation: the same 48 possible outcomes with the same frequencies (both draw at random)
    import random

    cube = rng.normal(size=(5, 5, 5))
    symmetries = {}
    for order in itertools.permutations(range(3)):
        for flipped in itertools.chain.from_iterable(itertools.combinations(range(3), n) for n in range(4)):
            symmetries[np.flip(np.transpose(cube, order), flipped).tobytes()] = (order, flipped)
    n = 12000
    random.seed(0)
    paper_counts, our_counts = {}, {}
    for i in range(n):
        theirs = symmetries[np.ascontiguousarray(dataset._apply_augmentations(None, cube)).tobytes()]
        mine = symmetries[np.ascontiguousarray(augment(cube, np.random.default_rng([3, i]))).tobytes()]
        paper_counts[theirs] = paper_counts.get(theirs, 0) + 1
        our_counts[mine] = our_counts.get(mine, 0) + 1
    keys = set(paper_counts) | set(our_counts)
    gap = max(abs(paper_counts.get(k, 0) - our_counts.get(k, 0)) / n for k in keys)
    checks.append(Check("czi", "augmentation: frequency of each outcome", gap,
                        gap < 0.015 and set(paper_counts) == set(our_counts),
                        f"{n} draws each, {len(paper_counts)} vs {len(our_counts)} distinct outcomes; "
                        "random on both sides, so the bar is sampling noise (0.015), not rounding"))
    return checks


def hyperparameter_check(paper_repo) -> Check:
    import yaml

    (config,) = import_paper(paper_repo, FOLDER, "config.config_classification")
    ours = yaml.safe_load((Path(__file__).resolve().parents[2] / "classification/czi/configs/czi.yaml").read_text())
    pairs = {"lr": (ours["train"]["lr"], config.LEARNING_RATE), "batch": (ours["train"]["batch_size"], config.BATCH_SIZE),
             "epochs": (ours["train"]["epochs"], config.EPOCHS),
             "patch": ((ours["data"]["patch_size"],) * 3, tuple(config.TARGET_PATCH_SIZE)),
             "augment": (ours["data"]["augment"], config.USE_AUGMENTATION),
             "cosine": (ours["train"]["schedule"] == "cosine_steps", config.USE_SCHEDULER)}
    differ = [k for k, (a, b) in pairs.items() if a != b]
    return Check("czi", "hyper-parameters (config_classification.py vs czi.yaml)", None, not differ,
                 ", ".join(f"{k} {a}" for k, (a, _) in pairs.items()) + (f"; DIFFER: {differ}" if differ else ""))


def run(paper_repo, suites=None) -> list[Check]:
    return [*model_checks(paper_repo), split_check(paper_repo), *metric_checks(), *data_checks(paper_repo),
            hyperparameter_check(paper_repo)]
