"""`seqsi demo`: the paper's comparison in miniature, on real data shipped with the project.

Classification on scikit-learn's handwritten digits and localization on the embedded
DSB2018 nuclei image, for every mode; a report folder with tables, certificates and figures.
"""
from __future__ import annotations

import argparse
import shutil
import time
from importlib import resources
from pathlib import Path

import torch

from ...data.bioimage import list_samples, read_image
from ...data.crops import minmax_unit
from ...engine.config import load_config
from ...io import write_text
from ...photometric.gallery import save_gallery
from . import classification, localization
from . import predict as predict_step
from .report import classification_report, localization_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("demo_out"), help="report folder (default demo_out/)")
    parser.add_argument("--fast", action="store_true", help="sub-minute smoke version (fewer modes, 2 epochs)")
    parser.add_argument("--no_progress", action="store_true")


def demo_config(fast: bool) -> dict:
    with resources.as_file(resources.files("seqsi") / "configs" / "demo.yaml") as path:
        return load_config(path, "fast" if fast else None)


def gallery_image(data_root: Path):
    """The first test image as a (1, 1, H, W) batch in [0, 1]."""
    sample = list_samples(data_root / "test")[0]
    return torch.from_numpy(minmax_unit(read_image(sample.image, ndim=2)).astype("float32"))[None, None]


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    config = demo_config(args.fast)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "runs", ignore_errors=True)  # the demo's own checkpoints: each demo starts afresh
    progress = not args.no_progress
    sections = []

    result = classification.run(config, out, progress)
    summary = classification_report(result, config["modes"], config["classification"]["eval"]["suite"], out)
    sections.append(summary)
    print(summary)

    result = localization.run(config, out, progress)
    summary = localization_report(result, config["modes"], out)
    sections.append(summary)
    print(summary)
    image = gallery_image(result["data_root"])
    save_gallery(image, out / "gallery.png", suite="fluorescence", name="DSB2018 test region")
    sections.append("## The alterations, on the test image\n\n![corruption gallery](gallery.png)\n")
    section = predict_step.run(out)
    if section:
        sections.append(section)
        print(section.splitlines()[2])

    elapsed = time.perf_counter() - started
    header = (f"# SEqSI demo ({'fast' if args.fast else 'full'})\n\nModes: {', '.join(config['modes'])}. "
              f"Run time {elapsed:.0f} s.\n")
    write_text(out / "README.md", "\n".join([header, *sections]))
    print(f"report written to {out}/ in {elapsed:.0f} s")
    return 0
