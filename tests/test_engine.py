"""The shared training engine: exact resume, NaN stop, checkpoint safety, configs."""
import pytest
import torch

from seqsi import build_model
from seqsi.data.classification import ImageTensorDataset, load_digits
from seqsi.engine import (Classification, TrainingDiverged, TrainSettings, fit, load_checkpoint, load_config,
                          load_model, parse_override)
from seqsi.engine.checkpoint import save_checkpoint


class Interrupt(Exception):
    pass


def tiny_setup(mode="seqsi"):
    torch.manual_seed(0)
    digits = load_digits()
    train = ImageTensorDataset(digits.train_x[:192], digits.train_y[:192])
    val = ImageTensorDataset(digits.test_x[:64], digits.test_y[:64])
    model = build_model("cifar_resnet", mode, 2, in_channels=1, widths=(4, 8, 8), blocks=(1, 1, 1), dropout=0.2)
    meta = {"experiment": "unit", "model_spec": model.seqsi_spec}
    settings = TrainSettings(epochs=3, batch_size=32, lr=0.05, clip_grad_norm=1.0, progress=False, seed=3)
    return model, train, val, settings, meta


def noisy_augment(stop_at_epoch=None):
    """Uses the generator (so resume must restore it) and can simulate a crash."""
    state = {"calls": 0}

    def augment(x, y, generator):
        state["calls"] += 1
        if stop_at_epoch is not None and state["calls"] == stop_at_epoch * 6 + 1:  # 6 batches per epoch
            raise Interrupt
        return x + 0.05 * torch.randn(x.shape, generator=generator), y
    return augment


def test_interrupted_and_resumed_run_equals_uninterrupted(tmp_path):
    model, train, val, settings, meta = tiny_setup()
    straight = fit(model, Classification(), train, val, settings, tmp_path / "a", meta, augment=noisy_augment())

    model2, *_ = tiny_setup()
    with pytest.raises(Interrupt):
        fit(model2, Classification(), train, val, settings, tmp_path / "b", meta, augment=noisy_augment(stop_at_epoch=1))
    assert load_checkpoint(tmp_path / "b" / "last.pt")["epoch"] == 1
    model3, *_ = tiny_setup()  # a fresh process would start from a fresh model
    resumed = fit(model3, Classification(), train, val, settings, tmp_path / "b", meta, resume=True,
                  augment=noisy_augment())

    for k, v in model.state_dict().items():
        assert torch.equal(v, model3.state_dict()[k]), k
    strip = lambda h: [{k: v for k, v in row.items() if k != "seconds"} for row in h]  # noqa: E731
    assert strip(resumed["history"]) == strip(straight["history"])
    assert (tmp_path / "b" / "metrics.csv").read_text().count("\n") == 4  # header + 3 epochs, no duplicates


def test_existing_run_is_not_overwritten_without_resume(tmp_path):
    model, train, val, settings, meta = tiny_setup()
    settings.epochs = 1
    fit(model, Classification(), train, val, settings, tmp_path, meta)
    with pytest.raises(FileExistsError, match="pass --resume"):
        fit(model, Classification(), train, val, settings, tmp_path, meta)


def test_nan_loss_stops_with_epoch_and_batch_and_keeps_last_good_checkpoint(tmp_path):
    model, train, val, settings, meta = tiny_setup()
    calls = {"n": 0}

    def poison(x, y, generator):
        calls["n"] += 1
        return (x * float("nan"), y) if calls["n"] == 6 + 3 else (x, y)  # epoch 2, batch 3

    with pytest.raises(TrainingDiverged, match="epoch 2, batch 3"):
        fit(model, Classification(), train, val, settings, tmp_path, meta, augment=poison)
    kept = load_checkpoint(tmp_path / "last.pt")
    assert kept["epoch"] == 1 and all(torch.isfinite(v).all() for v in kept["model"].values())


def test_checkpoint_rebuilds_the_model_alone(tmp_path):
    model, train, val, settings, meta = tiny_setup("affeq_telescopic")
    settings.epochs = 1
    fit(model, Classification(), train, val, settings, tmp_path, meta)
    restored = load_model(tmp_path / "best.pt", experiment="unit")
    assert restored.seqsi_mode.name == "affeq_telescopic" and not restored.training
    x = torch.rand(2, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(restored(x), model.eval()(x))


def test_bad_checkpoints_give_clear_errors(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"experiment": "cifar10", "model_spec": {}})
    with pytest.raises(ValueError, match="belongs to experiment 'cifar10', not 'czi'"):
        load_checkpoint(path, "czi")
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(ValueError, match="cannot be read"):
        load_checkpoint(path)
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(ValueError, match="not a SEqSI checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_checkpoints_refuse_pickled_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"format": "seqsi-checkpoint-1", "x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="cannot be read"):
        load_checkpoint(tmp_path / "evil.pt")


def test_config_presets_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train: {epochs: 500, lr: 0.1}\nmodel: {mode: seqsi}\npresets:\n  quick: {train: {epochs: 2}}\n")
    config = load_config(path, "quick", [parse_override("train.lr=0.5")])
    assert config["train"] == {"epochs": 2, "lr": 0.5} and config["preset"] == "quick"
    assert load_config(path)["train"]["epochs"] == 500
    assert parse_override("train.lr=1e-4") == {"train": {"lr": 1e-4}}  # YAML 1.1 alone would read a string
    with pytest.raises(ValueError, match="unknown config key 'train.epoch'"):
        load_config(path, None, [parse_override("train.epoch=3")])
    with pytest.raises(ValueError, match="no preset 'fast'"):
        load_config(path, "fast")
    with pytest.raises(ValueError, match="unknown training settings"):
        TrainSettings.from_dict({"epochs": 1, "batch_size": 2, "learning_rate": 0.1})


def test_begin_run_skips_finished_resumes_interrupted_and_refuses_to_overwrite(tmp_path):
    """The sweep logic every train.py shares: what a re-run of run_all_seeds.sh relies on."""
    import argparse

    from seqsi.engine.experiment import RESULTS, begin_run

    def args(**flags):
        return argparse.Namespace(**{"skip_done": False, "resume": False, **flags})

    fresh, interrupted, finished = (tmp_path / n for n in ("fresh", "interrupted", "finished"))
    config = {"seed": 1, "train": {"epochs": 3}, "model": {"widths": [4, 8]}}
    for run in (interrupted, finished):
        run.mkdir()
        (run / "last.pt").write_bytes(b"")
        (run / "config.yaml").write_text("seed: 1\ntrain: {epochs: 3}\nmodel: {widths: [4, 8]}\n")
    (finished / RESULTS).write_text("mode,accuracy\n")

    assert begin_run(args(), fresh, config)
    assert not begin_run(args(skip_done=True), finished, config)
    swept = args(skip_done=True)
    assert begin_run(swept, interrupted, config) and swept.resume  # a crashed sweep goes on
    with pytest.raises(FileExistsError, match="already holds a run"):
        begin_run(args(), interrupted, config)
    with pytest.raises(ValueError, match="model.widths"):
        begin_run(args(resume=True), interrupted, {**config, "model": {"widths": [4, 16]}})
    with pytest.raises(ValueError, match="no last.pt"):
        begin_run(args(resume=True), fresh, config)


def test_run_training_trains_evaluates_and_reports_divergence(tmp_path):
    """The body all train.py scripts share: what runs, in what order, and the exit codes."""
    import argparse

    from seqsi.engine.experiment import RESULTS, run_training

    calls = []

    def args(**flags):
        return argparse.Namespace(**{"skip_done": False, "resume": False, "no_eval": False, "device": "cpu", **flags})

    def train(ctx):
        calls.append(("train", ctx.world_size))
        return "state"

    def evaluate(ctx, state):
        calls.append(("evaluate", state))

    def diverge(ctx):
        raise TrainingDiverged("loss is nan at epoch 1, batch 2")

    assert run_training(args(), tmp_path / "a", {}, train, evaluate) == 0
    assert calls == [("train", 1), ("evaluate", "state")]
    calls.clear()
    assert run_training(args(no_eval=True), tmp_path / "a", {}, train, evaluate) == 0 and calls == [("train", 1)]
    calls.clear()
    assert run_training(args(), tmp_path / "b", {}, diverge, evaluate) == 3 and calls == []
    finished = tmp_path / "c"
    finished.mkdir()
    (finished / RESULTS).write_text("mode\n")
    assert run_training(args(skip_done=True), finished, {}, train, evaluate) == 0 and calls == []


def test_row_major_gives_a_one_channel_batch_the_default_strides():
    """The crop of random_crop_flip yields such a batch; under DDP on CPU its channels-last
    weight gradients corrupted the heap (the torchrun test of test_cifar10 runs that path)."""
    from seqsi.data.classification import random_crop_flip
    from seqsi.engine.trainer import row_major

    batch = random_crop_flip(torch.rand(4, 1, 8, 8), torch.Generator().manual_seed(0), padding=2, flip=True)
    assert batch.is_contiguous() and batch.stride() != (64, 64, 8, 1)
    conv = torch.nn.Conv2d(3, 3, 1)
    conv(torch.nn.Conv2d(1, 3, 1)(batch)).sum().backward()
    assert conv.weight.grad.stride() != conv.weight.stride()  # the gradients DDP's copy choked on
    fixed = row_major(batch)
    assert fixed.stride() == (64, 64, 8, 1) and torch.equal(fixed, batch)
    assert row_major(fixed) is fixed
