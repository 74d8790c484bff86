"""Issue 14, case 5: a bad `--set` value is one line naming the key and what was expected, exit 2,
in every train script and in `seqsi certify` (was a YAML or TypeError traceback)."""
import pytest

from helpers import ROOT, load_script
from seqsi.cli import guarded
from seqsi.cli import main as seqsi_main

TRAIN_SCRIPTS = [ROOT / "classification" / "cifar10", ROOT / "classification" / "czi",
                 ROOT / "object_localization" / "2D", ROOT / "object_localization" / "3D"]
BAD = [("model.widths=[8,16", "model.widths=[8,16: not a valid YAML value"), ("train.lr=", "train.lr: empty value")]


@pytest.mark.parametrize("folder", TRAIN_SCRIPTS, ids=lambda f: f"{f.parent.name}/{f.name}")
@pytest.mark.parametrize("override, message", BAD)
def test_train_scripts_reject_bad_set_in_one_line(tmp_path, capsys, folder, override, message):
    script = load_script(folder, "train")
    code = guarded(script.main, ["--preset", "quick", "--out", str(tmp_path), "--set", override])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "expected" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_null_training_setting_is_named():
    from seqsi.engine import TrainSettings

    with pytest.raises(ValueError, match="training setting lr must be float; got no value"):
        TrainSettings.from_dict({"epochs": 1, "batch_size": 2, "lr": None})


@pytest.mark.parametrize("override, message", [("widths=[8,16", "widths=[8,16: not a valid YAML value"),
                                               ("widths=", "widths: empty value")])
def test_certify_rejects_bad_set_in_one_line(capsys, override, message):
    code = seqsi_main(["certify", "--set", override])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
