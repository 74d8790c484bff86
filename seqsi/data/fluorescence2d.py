"""2D synthetic fluorescence images: one optical section through the 3D image model.

`seqsi.data.fluorescence` renders volumes; a 2D image here is that model rendered on a
volume one voxel thick, (1, H, W), and squeezed. Objects are drawn with centres inside
that slice, so every object is cut near its middle (an ellipsoid cut is an ellipse), the
PSF blurs in-plane as in the 3D model, and the camera, background and bright artifacts
are the 3D model's. Parameters keep their 3D meaning: `shape` and `voxel_size` have a z
entry, which sets the slice thickness (and so, with `density`, how many objects a slice
holds). The split layout is the 2D experiment's (DSB2018): `<split>/images|masks/*.tif`.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from seqsi.data.bioimage import IMAGES, MASKS, artifact_folder_name, write_tiff
from seqsi.data.fluorescence import (FluorescenceParams, SyntheticVolume, _check_counts, add_artifacts, artifact_field,
                                     generate_volume, volume_name, volume_rng)
from seqsi.io import atomic_dir, check_replaceable, write_json

# DSB2018-like nuclei: 64 x 64 um fields at 0.5 um per pixel, nuclei of 6 to 12 px radius.
NUCLEI_2D = FluorescenceParams(shape=(1, 128, 128), voxel_size=(1.0, 0.5, 0.5), density=4.0, spot_fraction=0.0,
                               nucleus_radius=(3.0, 6.0), psf_sigma=(0.0, 0.5, 0.5), background_scale=20.0,
                               filament_length=(15.0, 40.0), filament_radius=(0.4, 0.8), blob_radius=(3.0, 6.0))


def check_slab(params: FluorescenceParams) -> FluorescenceParams:
    if params.shape[0] != 1:
        raise ValueError(f"a 2D image is a one-voxel-thick volume: shape must be (1, H, W); got {params.shape}")
    return params


def generate_image(params: FluorescenceParams, rng: np.random.Generator) -> SyntheticVolume:
    """One 2D image (uint16) with its label mask, from the 3D model on a (1, H, W) slab."""
    vol = generate_volume(check_slab(params), rng)
    return dataclasses.replace(vol, image=vol.image[0], labels=vol.labels[0])


def artifact_image(image: np.ndarray, level: float, params: FluorescenceParams, seed: int, index: int) -> np.ndarray:
    """The image plus bright artifacts (filaments, blobs) of peak `level` photons, as in 3D."""
    field_, _ = artifact_field(params, volume_rng(seed, "test", index, "artifacts"))
    noisy = add_artifacts(image[None], field_, level, params, volume_rng(seed, "test", index, "artifact_noise", level))
    return noisy[0]


def write_dataset_2d(root: str | os.PathLike, params: FluorescenceParams = NUCLEI_2D, *, seed: int = 0,
                     counts: Mapping[str, int] | None = None, artifact_levels: Sequence[float] = (3.0, 10.0),
                     overwrite: bool = False) -> dict:
    """Write train/val/test (+ test/arti_<k>) of 2D images in the DSB2018 layout, atomically."""
    check_slab(params)
    counts = _check_counts(counts if counts is not None else {"train": 24, "val": 6, "test": 8})
    root = Path(root)
    check_replaceable(root, "dataset.json", overwrite)
    spacing = params.voxel_size[1:]
    meta: dict = {"generator": "seqsi.data.fluorescence2d", "seed": int(seed), "params": dataclasses.asdict(params),
                  "counts": counts, "artifact_levels": [float(k) for k in artifact_levels], "axes": "yx",
                  "units": "um", "volumes": {}}
    with atomic_dir(root) as tmp:
        for split, n in counts.items():
            records = []
            for i in range(n):
                name = volume_name(split, i)
                img = generate_image(params, volume_rng(seed, split, i))
                write_tiff(tmp / split / IMAGES / f"{name}.tif", img.image, spacing=spacing, compression="zlib")
                write_tiff(tmp / split / MASKS / f"{name}.tif", img.labels, spacing=spacing, compression="zlib")
                records.append({"name": name, "n_objects": int(len(np.unique(img.labels)) - 1)})
                if split == "test":
                    for k in artifact_levels:
                        folder = tmp / split / artifact_folder_name(k)
                        noisy = artifact_image(img.image, k * img.object_level, params, seed, i)
                        write_tiff(folder / IMAGES / f"{name}.tif", noisy, spacing=spacing, compression="zlib")
                        (folder / MASKS).mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(tmp / split / MASKS / f"{name}.tif", folder / MASKS / f"{name}.tif")
            meta["volumes"][split] = records
        write_json(tmp / "dataset.json", meta)
    return meta


__all__ = ["NUCLEI_2D", "artifact_image", "generate_image", "write_dataset_2d"]
