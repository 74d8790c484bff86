"""2D localization end to end on the embedded DSB2018 sample, through the experiment's scripts:
build the layout -> train (threshold fit, eval) -> inv_experiment -> tables."""
from pathlib import Path

import pytest
import torch
from helpers import load_script

from seqsi.io import read_csv

FOLDER = Path(__file__).resolve().parents[1] / "object_localization" / "2D"
ALTERATIONS = ["none", "affine", "scale_low", "scale_high", "shift", "affine_saturated", "scale_saturated",
               "shift_saturated", "gamma_light", "gamma_dark", "noise_low", "noise_high"]


def script(name: str):
    return load_script(FOLDER, name)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny convolutions: one thread is faster on a shared machine
    tmp = tmp_path_factory.mktemp("loc2d")
    data, out = tmp / "sample", tmp / "runs"
    assert script("prepare_sample").main(["--out", str(data)]) == 0
    for mode, loss in (("standard", "bce"), ("seqsi", "zmse")):
        code = script("train").main(["--preset", "quick", "--mode", mode, "--loss", loss, "--seed", "1",
                                     "--out", str(out), "--data_path", str(data), "--set", "train.epochs=25",
                                     "--no_progress"])
        assert code == 0
    assert script("inv_experiment").main([str(out)]) == 0
    assert script("generate_res_table").main([str(out), "--seeds", "1"]) == 0
    yield out
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_run_folders_hold_every_artifact(runs):
    for method in ("standard-bce", "seqsi_telescopic-zmse"):
        run = runs / method / "none" / "seed1"
        for name in ("config.yaml", "best.pt", "last.pt", "metrics.csv", "threshold.json", "results.csv",
                     "per_image.csv", "invariance.csv", "overlays/none/test_0.png"):
            assert (run / name).is_file(), f"{run / name} missing"
        results = read_csv(run / "results.csv")
        assert [r["testset"] for r in results if r["metric"] == "score"] == ALTERATIONS
        assert {(r["experiment"], r["method"] + "-" + r["loss"], r["aug"], r["seed"]) for r in results} == {
            ("loc2d", method, "none", "1")}
    for name in ("score", "f1", "invariance"):
        assert (runs / "tables" / f"{name}.md").is_file()
    header = (runs / "tables" / "score.md").read_text().splitlines()[0]
    assert "Standard / BCE" in header and "SEqSI (telescopic) / ZMSE" in header


@pytest.mark.slow
def test_seqsi_zmse_detections_do_not_move_under_any_case_and_standard_ones_do(runs):
    inv = {m: {r["testset"]: float(r["value"]) for r in read_csv(runs / m / "none" / "seed1" / "invariance.csv")}
           for m in ("standard-bce", "seqsi_telescopic-zmse")}
    assert len(inv["seqsi_telescopic-zmse"]) == 10
    assert all(v == 1.0 for v in inv["seqsi_telescopic-zmse"].values()), inv["seqsi_telescopic-zmse"]
    assert min(inv["standard-bce"].values()) < 0.5, inv["standard-bce"]


@pytest.mark.slow
def test_seqsi_zmse_learned_to_find_nuclei_and_is_unchanged_by_affine_alterations(runs):
    scores = {r["testset"]: float(r["value"]) for r in read_csv(runs / "seqsi_telescopic-zmse" / "none" / "seed1" / "results.csv")
              if r["metric"] == "score"}
    assert scores["none"] > 0.3  # an untrained network finds next to nothing
    assert scores["affine"] == scores["shift"] == scores["scale_high"] == scores["none"]
    standard = {r["testset"]: float(r["value"])
                for r in read_csv(runs / "standard-bce" / "none" / "seed1" / "results.csv") if r["metric"] == "score"}
    assert standard["shift"] < standard["none"]
