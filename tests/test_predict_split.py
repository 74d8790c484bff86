"""seqsi split-volume: blocks cut through background where possible, no fragment counted twice."""
import json

import numpy as np

from seqsi.cli import main
from seqsi.data.bioimage import read_mask, write_tiff
from seqsi.prediction.split import crossing_counts, split_volume


def balls(shape, centres, radius):
    grid = np.indices(shape)
    labels = np.zeros(shape, np.int32)
    for i, c in enumerate(centres, start=1):
        labels[sum((g - v) ** 2 for g, v in zip(grid, c)) <= radius**2] = i
    return labels


def test_crossing_counts_count_objects_spanning_each_cut():
    labels = np.zeros((10, 4), np.int32)
    labels[2:5, 1] = 1  # rows 2..4
    labels[3:8, 2] = 2  # rows 3..7
    counts = crossing_counts(labels, 0)
    assert list(counts[1:10]) == [0, 0, 1, 2, 1, 1, 1, 0, 0]  # a cut at k splits rows < k from rows >= k


def test_cuts_move_to_background_planes(tmp_path):
    # balls every 9 planes: the targets 70 and 85 fall inside objects, background lies a few planes away
    centres = [(z, 10, 10) for z in range(5, 100, 9)]
    labels = balls((100, 20, 20), centres, 3)
    image = (labels > 0).astype(np.float32)
    record = split_volume(image, labels, tmp_path, search=6)
    counts = crossing_counts(labels, 0)
    assert all(counts[c] == 0 for c in record["cuts"]) and not record["removed_pieces"]
    total = sum(b["objects"] for b in record["blocks"].values())
    assert total == len(centres)  # every object in exactly one block


def test_objects_a_cut_cannot_avoid_stay_whole_in_one_block(tmp_path, capsys):
    labels = np.zeros((40, 12, 12), np.int32)
    labels[:, 4:8, 4:8] = 0
    labels[20:35, 2:6, 2:6] = 1  # long object across the train/val cut at 28 (0.7 of 40)
    labels[5:9, 7:10, 7:10] = 2
    image = np.random.default_rng(0).random(labels.shape).astype(np.float32)
    write_tiff(tmp_path / "img.tif", image, spacing=(0.5, 0.2, 0.2))
    write_tiff(tmp_path / "lab.tif", labels)
    assert main(["split-volume", str(tmp_path / "img.tif"), str(tmp_path / "lab.tif"), "--out", str(tmp_path / "o"),
                 "--search", "2", "--axis", "0"]) == 0
    record = json.loads((tmp_path / "o" / "split.json").read_text())
    assert record["removed_pieces"] and record["removed_pieces"][0]["label"] == 1
    kept = record["removed_pieces"][0]["kept_in"]
    ids = {s: set(np.unique(read_mask(tmp_path / "o" / s / "masks" / f"img_{s}.tif"))) - {0}
           for s in ("train", "val", "test")}
    assert [s for s, v in ids.items() if 1 in v] == [kept]  # label 1 counted in one block only
    assert "unlabelled" in capsys.readouterr().out
    assert main(["split-volume", str(tmp_path / "img.tif"), str(tmp_path / "lab.tif"), "--out", str(tmp_path / "o"),
                 "--fractions", "0.5,0.6,0.1"]) == 2
