"""3D localization end to end through the experiment's scripts: generate -> train the 4 methods
for 2 seeds -> eval (alterations + artifact folder) -> per-seed tables -> strict merge."""
from pathlib import Path

import pytest
import torch
from helpers import load_script

from seqsi.io import read_csv

FOLDER = Path(__file__).resolve().parents[1] / "object_localization" / "3D"
METHODS = ("standard", "seq", "affeq", "seqsi")
AFFINE = ("affine", "scale_low", "scale_high", "shift")


def script(name: str):
    return load_script(FOLDER, name)


TINY = ["--preset", "quick", "--no_progress", "--set", "model.widths=[4,8]", "--set", "train.epochs=2",
        "--set", "crops.crops_per_image=2", "--set", "crops.val_crops_per_image=1", "--set", "eval.dtype=float64"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("loc3d")
    data, out = tmp / "data", tmp / "runs"
    assert script("generate_synthetic").main(
        ["--out", str(data), "--preset", "quick", "--shape", "16", "32", "32", "--count", "5", "--n-train", "2",
         "--n-val", "1", "--n-test", "1", "--artifact_levels", "3"]) == 0
    train = script("train")
    for seed in ("1", "2"):
        for mode in METHODS:
            assert train.main(["--mode", mode, "--seed", seed, "--out", str(out), "--data_path", str(data), *TINY]) == 0
    assert script("generate_res_table").main([str(out), "--out", str(out / "tables")]) == 0
    yield out
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_every_run_is_evaluated_on_alterations_and_artifact_sets(runs):
    for mode, loss in zip(("standard", "seq", "affeq_telescopic", "seqsi_telescopic"), ("bce", "bce", "zmse", "zmse")):
        run = runs / f"{mode}-{loss}" / "none" / "seed1"  # the paper preset's telescopic kernels name the run
        assert (run / "threshold.json").is_file() and (run / "overlays" / "none" / "test_0000.png").is_file()
        tested = [r["testset"] for r in read_csv(run / "results.csv") if r["metric"] == "score"]
        assert tested[0] == "none" and tested[-1] == "arti_3" and len(tested) == 13
    for seed in ("1", "2"):
        assert (runs / "tables" / f"seed{seed}" / "score.md").is_file()


@pytest.mark.slow
def test_seqsi_zmse_scores_are_unchanged_by_affine_scale_shift_and_standard_ones_are_not(runs):
    for method in ("seqsi_telescopic-zmse", "affeq_telescopic-zmse"):
        for seed in ("1", "2"):
            scores = {r["testset"]: float(r["score"]) for r in read_csv(runs / method / "none" / f"seed{seed}" /
                                                                      "per_image.csv")}
            assert all(scores[t] == scores["none"] for t in AFFINE), (method, seed, scores)
    changed = 0
    for seed in ("1", "2"):
        scores = {r["testset"]: float(r["score"]) for r in read_csv(runs / "standard-bce" / "none" / f"seed{seed}" /
                                                                  "per_image.csv")}
        changed += sum(scores[t] != scores["none"] for t in AFFINE)
    assert changed > 0


@pytest.mark.slow
def test_merge_averages_complete_seeds_and_reports_a_missing_run(runs, capsys):
    merge = script("merge_tabs")
    tables = runs / "tables"
    assert merge.main([str(tables), "--seeds", "1", "2"]) == 0
    merged = (tables / "merged" / "score.md").read_text()
    assert "±" in merged and "over 2 seeds" in merged
    # seed 2 loses its SEqSI run: the merge must refuse and name it
    (runs / "seqsi_telescopic-zmse" / "none" / "seed2" / "results.csv").unlink()
    assert script("generate_res_table").main([str(runs), "--out", str(tables), "--seeds", "2"]) == 0
    capsys.readouterr()
    assert merge.main([str(tables), "--seeds", "1", "2"]) == 2
    err = capsys.readouterr().err
    assert "method=seqsi_telescopic, loss=zmse, aug=none, seed=2" in err
    assert "standard" not in err
    assert merge.main([str(tables), "--seeds", "1", "2", "--partial", "--out", str(tables / "partial")]) == 0
    assert "†" in (tables / "partial" / "score.md").read_text()
    # a seed without any table is missing as a whole
    assert merge.main([str(tables), "--seeds", "1", "2", "3"]) == 2
    assert "seed=3: all 13 testset columns" in capsys.readouterr().err
