"""Issue 14, cases 6, 14 and 16 on real run folders: eval checks the checkpoint's experiment and
dims first; evaluating on other data writes a folder of its own, never over the run's results;
missing test/arti_<k>/ folders are said and marked in the tables."""
import json

import numpy as np
import pytest

from helpers import ROOT, load_script
from seqsi.cli import guarded
from seqsi.data.bioimage import write_tiff
from seqsi.engine.checkpoint import save_checkpoint
from seqsi.engine.config import load_config
from seqsi.engine.localization import run_dir_for, tiny_config
from seqsi.models import build_model
from seqsi.nn import get_mode

LOC2D, LOC3D = ROOT / "object_localization" / "2D", ROOT / "object_localization" / "3D"


def _data(root, dims):
    shape = (48, 48) if dims == 2 else (16, 32, 32)
    rng = np.random.default_rng(0)
    mask = np.zeros(shape, np.int32)
    mask[(slice(4, 8),) * dims] = 1
    write_tiff(root / "test" / "images" / "a.tif", rng.integers(0, 500, shape).astype(np.uint16))
    write_tiff(root / "test" / "masks" / "a.tif", mask)
    return root


def _loc_run(tmp_path, dims, data):
    config = tiny_config(data, dims, out=tmp_path / "runs")
    config["eval"]["test_sets"] = ["none", "shift"]
    model = build_model("drunet", get_mode("seqsi"), dims, widths=[8, 16, 32], blocks=1)
    run = run_dir_for(config)
    save_checkpoint(run / "best.pt", {"experiment": f"loc{dims}d", "model_spec": model.seqsi_spec,
                                      "model": model.state_dict(), "config": config})
    (run / "threshold.json").write_text(json.dumps({"threshold": 1.0}))
    return run


def _cifar_run(tmp_path):
    config = load_config(ROOT / "classification" / "cifar10" / "configs" / "digits.yaml", "quick")
    model = build_model("cifar_resnet", get_mode("seqsi"), 2, in_channels=1, num_classes=10, widths=[4, 4, 4],
                        blocks=[1, 1, 1])
    path = tmp_path / "cifar" / "best.pt"
    save_checkpoint(path, {"experiment": "cifar10", "model_spec": model.seqsi_spec, "model": model.state_dict(),
                           "config": {**config, "seed": 0}})
    return path.parent


def test_eval_refuses_a_checkpoint_of_another_experiment(tmp_path, capsys):
    run = _cifar_run(tmp_path)
    code = guarded(load_script(LOC2D, "eval").main, [str(run)])
    err = capsys.readouterr().err
    assert code == 2 and "belongs to experiment 'cifar10', not 'loc2d'" in err and "Traceback" not in err
    assert not (run / "results.csv").exists()


def test_3d_eval_names_the_2d_checkpoint_not_the_volume(tmp_path, capsys):
    run = _loc_run(tmp_path, 2, _data(tmp_path / "d2", 2))
    code = guarded(load_script(LOC3D, "eval").main, [str(run), "--data_path", str(_data(tmp_path / "d3", 3))])
    err = capsys.readouterr().err
    assert code == 2 and str(run / "best.pt") in err and "'loc2d', not 'loc3d'" in err and "a.tif" not in err


def test_every_checkpoint_is_checked_before_any_run_is_evaluated(tmp_path, capsys):
    good = _loc_run(tmp_path, 2, _data(tmp_path / "d2", 2))
    bad = _cifar_run(tmp_path)
    code = guarded(load_script(LOC2D, "eval").main, [str(good), str(bad)])
    assert code == 2 and "cifar10" in capsys.readouterr().err
    assert not (good / "results.csv").exists()  # nothing written for the good one either


def test_dims_disagreeing_with_the_network_are_refused(tmp_path):
    from seqsi.engine.runcheck import load_localization_model

    run = _loc_run(tmp_path, 2, _data(tmp_path / "d2", 2))
    payload = __import__("torch").load(run / "best.pt", weights_only=True)
    payload["config"]["data"]["dims"] = 3
    save_checkpoint(run / "best.pt", {k: v for k, v in payload.items() if k != "format"})
    with pytest.raises(ValueError, match="says 3D data but its network is 2D"):
        load_localization_model(run / "best.pt")


def test_eval_on_other_data_writes_its_own_folder(tmp_path):
    own = _data(tmp_path / "own", 2)
    run = _loc_run(tmp_path, 2, own)
    other = _data(tmp_path / "other", 2)
    script = load_script(LOC2D, "eval")
    assert guarded(script.main, [str(run)]) == 0
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    assert guarded(script.main, [str(run), "--data_path", str(other)]) == 0
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before  # run untouched
    transfer = tmp_path / "runs_on_other" / "seqsi-zmse" / "none" / "seed1"
    assert (transfer / "results.csv").is_file() and (transfer / "per_image.csv").is_file()
    assert (transfer / "overlays" / "none" / "a.png").is_file()
    assert guarded(script.main, [str(run), "--data_path", str(other), "--out", str(tmp_path / "mine")]) == 0
    assert (tmp_path / "mine" / "seqsi-zmse" / "none" / "seed1" / "results.csv").is_file()
    assert guarded(script.main, [str(run), "--data_path", str(own)]) == 0  # its own data: its own folder
    assert (run / "results.csv").read_bytes() == before["results.csv"]


def test_missing_artifact_folders_are_said_and_marked(tmp_path, capsys):
    data = _data(tmp_path / "d3", 3)
    run = _loc_run(tmp_path, 3, data)
    assert guarded(load_script(LOC3D, "eval").main, [str(run)]) == 0
    out = capsys.readouterr().out
    assert "test sets arti_1.5, arti_3, arti_5, arti_10 skipped: no" in out and str(data / "test") in out
    tables = tmp_path / "tables"
    assert guarded(load_script(LOC3D, "generate_res_table").main, [str(tmp_path / "runs"), "--out", str(tables)]) == 0
    md = (tables / "seed1" / "score.md").read_text()
    header = md.splitlines()[0]
    assert all(name in header for name in ("arti_1.5", "arti_3", "arti_5", "arti_10"))
    assert "not evaluated (the test data had no test/arti_<k>/ folder" in md
    assert guarded(load_script(LOC3D, "merge_tabs").main, [str(tables)]) == 0
    assert "not evaluated in any seed" in (tables / "merged" / "score.md").read_text()
