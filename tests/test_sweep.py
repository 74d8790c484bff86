"""The sweep package on real processes (no SLURM here: see test_sweep_slurm.py): the four
experiments' matrices, environment subsets, run-folder states, the local scheduler (slots,
GPUs, threads, failures, Ctrl-C) and the sbatch script run by bash."""
import functools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from helpers import ROOT, load_script, side_by_side

from seqsi.engine.experiment import resolve_config, run_folder
from seqsi.engine.localization import method_names, run_dir_for
from seqsi.nn import get_mode
from seqsi.sweep import env_words, load_matrix, state_of
from seqsi.sweep.state import LOG, STATUS, mark_ended, mark_started

CIFAR = ROOT / "classification" / "cifar10"
CZI = ROOT / "classification" / "czi"
LOC2D = ROOT / "object_localization" / "2D"
LOC3D = ROOT / "object_localization" / "3D"
EXPERIMENTS = (CIFAR, CZI, LOC2D, LOC3D)
ENV = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def flags_of(run):
    """The run's flags with its explicit --run_dir removed (what a user would type)."""
    args = list(run.args[1:])
    i = args.index("--run_dir")
    del args[i:i + 2]
    return args


def test_paper_matrices_have_the_paper_runs():
    from seqsi.engine.config import load_config

    cifar_matrix = load_matrix(CIFAR, {})
    data_root = load_config(CIFAR / "configs" / "cifar10.yaml")["data"]["root"]
    assert cifar_matrix.prepare[0].skip_if == f"{data_root}/cifar-10-batches-py"  # fetched once, where runs read it
    assert load_matrix(CIFAR, {"DATASET": "digits"}).prepare == []
    sizes = {CIFAR: 190, CZI: 40, LOC2D: 8, LOC3D: 80}
    for folder, size in sizes.items():
        m = load_matrix(folder, {})
        assert len(m.runs) == size, folder
        assert all("--skip_done" in r.args and r.args[0] == "train.py" for r in m.runs)
    # CIFAR-10, as the paper's run_training.sh: per seed, 4 base models x (base, 4 norms, dropout 0.3,
    # 3 augmentations) and the 2 telescopic models without variants
    runs = load_matrix(CIFAR, {}).runs
    seed5 = {(r.args[r.args.index("--mode") + 1], tuple(flags_of(r)[10:-2])) for r in runs if "5" == r.args[8]}
    variants = [(), ("--norm_type", "instance"), ("--norm_type", "batch"), ("--norm_type", "layer"),
                ("--norm_type", "mix"), ("--dropout_rate", "0.3"), ("--affine_aug",), ("--nonaffine_aug",),
                ("--random_aug",)]
    expected = {(m, v) for m in ("standard", "se", "seqsi_avg", "affeq_avg") for v in variants}
    expected |= {("seqsi_telescopic", ()), ("affeq_telescopic", ())}
    assert seed5 == expected
    czi = load_matrix(CZI, {}).runs
    assert {r.args[r.args.index("--train_type") + 1] for r in czi} == {"denoised", "wbp", "isonetcorrected",
                                                                        "ctfdeconvolved"}


def test_an_empty_list_variable_selects_nothing():
    assert env_words({}, "X", ["a", "b"]) == ["a", "b"]
    assert env_words({"X": ""}, "X", ["a", "b"]) == []
    assert env_words({"X": " c  d "}, "X", ["a"]) == ["c", "d"]
    cifar = lambda **env: load_matrix(CIFAR, env).runs  # noqa: E731
    assert len(cifar(TELESCOPIC="")) == 180 and not any("telescopic" in " ".join(r.args) for r in cifar(TELESCOPIC=""))
    assert len(cifar(MODES="")) == 10 and len(cifar(VARIANTS="")) == 10 and cifar(SEEDS="") == []
    assert len(cifar(MODES="", TELESCOPIC="")) == 0
    for folder, names in ((CZI, ("SEEDS", "MODES", "TRAIN_TYPES")), (LOC2D, ("SEEDS", "MODES", "LOSSES")),
                          (LOC3D, ("SEEDS", "METHODS", "GROUPS_"))):
        for name in names:
            assert load_matrix(folder, {name: ""}).runs == [], (folder.name, name)
            assert load_matrix(folder, {"QUICK": "1", name: ""}).runs == [], (folder.name, name)
    assert len(load_matrix(LOC3D, {"QUICK": "1"}).runs) == 8
    assert len(load_matrix(CZI, {"QUICK": "1", "SEEDS": "5 7"}).runs) == 4


def test_bad_variables_are_named():
    for env, words in (({"SEEDS": "5 x"}, "SEEDS"), ({"QUICK": "yes"}, "QUICK"), ({"VARIANTS": "norm-foo"}, "norm-foo"),
                       ({"DATASET": "mnist"}, "DATASET")):
        with pytest.raises(ValueError, match=words):
            load_matrix(CIFAR, env)
    with pytest.raises(ValueError, match="GROUPS_"):
        load_matrix(LOC3D, {"GROUPS_": "none aff"})
    with pytest.raises(FileNotFoundError, match="sweep_matrix.py"):
        load_matrix(ROOT / "docs", {})
    with pytest.raises(ValueError, match="not an experiment folder"):
        load_matrix("no_such_matrix_module", {})


def test_run_folders_are_those_train_py_picks_by_itself():
    """Each matrix passes --run_dir; it must be the folder train.py uses without it, so runs
    started by hand or by older sweeps are recognised."""
    cifar_train = load_script(CIFAR, "train")
    for env in ({"SEEDS": "7"}, {"DATASET": "digits", "QUICK": "1", "SEEDS": "5"}):  # one seed each: YAML is slow
        for run in load_matrix(CIFAR, env).runs:
            args = cifar_train.parse_args(flags_of(run))
            config = resolve_config(args, {"model.mode": args.mode, "model.norm": args.norm_type,
                                           "model.dropout": args.dropout_rate, "augment.group": args.aug})
            assert run_folder(config, get_mode(config["model"]["mode"]), cifar_variant(config)) == run.folder
    czi_train = load_script(CZI, "train")
    for run in load_matrix(CZI, {"SEEDS": "42"}).runs + load_matrix(CZI, {"QUICK": "1", "SEEDS": "5"}).runs:
        args = czi_train.parse_args(flags_of(run))
        config = resolve_config(args, {"model.mode": args.mode, "data.train_type": args.train_type})
        assert run_folder(config, get_mode(args.mode), config["data"]["train_type"]) == run.folder
    for folder in (LOC2D, LOC3D):
        import argparse

        from seqsi.engine.experiment import add_common_arguments
        from seqsi.engine.localization import add_training_arguments, training_overrides

        config_file = next((folder / "configs").glob("*.yaml"))
        for env in ({"SEEDS": "3"}, {"QUICK": "1"}):
            for run in load_matrix(folder, env).runs:
                parser = argparse.ArgumentParser()
                add_common_arguments(parser, config_file)
                add_training_arguments(parser)
                args = parser.parse_args(flags_of(run))
                config = resolve_config(args, training_overrides(args))
                method_names(config)
                assert run_dir_for(config) == run.folder, run.args


@functools.cache
def cifar_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("cifar_for_sweep_test", CIFAR / "cifar.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cifar_variant(config):
    return cifar_module().variant_name(config)


def test_run_states_from_the_folder_alone(tmp_path):
    def folder(name):
        (tmp_path / name).mkdir()
        return tmp_path / name

    assert state_of(tmp_path / "never").state == "missing"
    done = folder("done")
    (done / "results.csv").write_text("metric,value\n")
    assert state_of(done).state == "done"
    running = folder("running")
    mark_started(running, ["python", "train.py"], slurm_job="12_3")
    assert state_of(running) == state_of(running) and state_of(running).state == "running"
    assert "12_3" in state_of(running).detail
    lost = folder("lost")
    mark_started(lost, ["python", "train.py"])
    (lost / LOG).write_text("epoch 3\r epoch 4\n\n")
    old = time.time() - 3600
    os.utime(lost / STATUS, (old, old))
    lost_state = state_of(lost)
    assert lost_state.state == "failed" and "no heartbeat" in lost_state.detail and lost_state.detail.endswith("epoch 4")
    failed = folder("failed")
    mark_started(failed, ["python", "train.py"])
    (failed / LOG).write_text("run ...\nerror: loss is nan at epoch 2\n")
    mark_ended(failed, 3, stopped=False)
    assert state_of(failed).state == "failed" and "exit code 3: error: loss is nan" in state_of(failed).detail
    stopped = folder("stopped")
    mark_started(stopped, ["python", "train.py"])
    mark_ended(stopped, -2, stopped=True)
    assert state_of(stopped).state == "partial"
    old_style = folder("old_style")  # interrupted by a plain train.py, before sweeps wrote status files
    (old_style / "last.pt").write_bytes(b"")
    assert state_of(old_style).state == "partial"


# A toy experiment: its "train.py" records what it was given, then writes results.csv.
TOY_TRAIN = '''
import json, os, signal, sys, time
from pathlib import Path
run = Path(sys.argv[sys.argv.index("--run_dir") + 1])
active = Path(sys.argv[sys.argv.index("--active") + 1])
seconds = float(sys.argv[sys.argv.index("--seconds") + 1])
run.mkdir(parents=True, exist_ok=True)
me = active / run.name
me.touch()
record = {"argv": sys.argv[1:], "concurrent": len(list(active.iterdir())),
          "gpus": os.environ.get("CUDA_VISIBLE_DEVICES"), "threads": os.environ.get("OMP_NUM_THREADS")}
(run / "record.json").write_text(json.dumps(record))
try:
    end = time.time() + seconds
    while time.time() < end:
        time.sleep(0.05)
        record["concurrent"] = max(record["concurrent"], len(list(active.iterdir())))
except KeyboardInterrupt:
    (run / "interrupted").touch()
    me.unlink()
    sys.exit(130)
(run / "record.json").write_text(json.dumps(record))
me.unlink()
if "--fail" in sys.argv:
    print("error: the loss diverged at epoch 2")
    sys.exit(3)
(run / "results.csv").write_text("metric,value\\nacc,1\\n")
'''


def toy_experiment(tmp_path, n=4, seconds=0.6, fail=(), extra=()):
    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "active").mkdir()
    (folder / "train.py").write_text(TOY_TRAIN)
    (folder / "sweep_matrix.py").write_text(textwrap.dedent(f'''
        from pathlib import Path
        from seqsi.sweep import Matrix, Run, Step, env_ints
        def matrix(env):
            runs = []
            for seed in env_ints(env, "SEEDS", range({n})):
                folder = Path("runs") / f"seed{{seed}}"
                flags = ["--fail"] if seed in {tuple(fail)} else []
                runs.append(Run(folder, ("train.py", "--run_dir", str(folder), "--active", "active",
                                         "--seconds", "{seconds}", *flags, *{tuple(extra)!r})))
            tables = [Step(("-c", "open('tables.txt', 'w').write('made')"))]
            return Matrix("toy", Path(__file__).parent, "runs", runs, tables=tables)
    '''))
    return folder


class Done:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def sweep(capsys):
    """`seqsi sweep ARGS` in this process (its runs are still child processes)."""
    from seqsi.commands.sweep import main

    def call(*args):
        capsys.readouterr()
        rc = main([str(a) for a in args])
        out = capsys.readouterr()
        return Done(rc, out.out, out.err)

    return call


def records(folder):
    return {p.parent.name: json.loads(p.read_text()) for p in (folder / "runs").glob("*/record.json")}


def test_local_runs_n_at_a_time_with_a_gpu_each_then_the_tables(tmp_path, sweep):
    toy = toy_experiment(tmp_path, n=4)
    done = sweep("local", toy, "--jobs", "2", "--gpus", "3,5", "--threads", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    got = records(toy)
    assert len(got) == 4
    assert max(r["concurrent"] for r in got.values()) == 2  # never more than --jobs at once, and both slots used
    assert {r["gpus"] for r in got.values()} == {"3", "5"} and {r["threads"] for r in got.values()} == {"3"}
    assert (toy / "tables.txt").read_text() == "made"
    assert "4/4 done" in done.stdout
    for seed in range(4):
        log = (toy / "runs" / f"seed{seed}" / LOG).read_text()
        assert "sweep start" in log and "exit code 0" in log
    again = sweep("plan", toy, "--write", tmp_path / "plan.tsv")  # the folders alone say they are done
    assert "4 done, 0 partial, 0 missing" in again.stdout
    rows = (tmp_path / "plan.tsv").read_text().splitlines()
    assert rows[0] == "state\tfolder\tcommand" and rows[1].startswith("done\truns/seed0\ttrain.py --run_dir")
    assert "0 to run" in sweep("local", toy, "--jobs", "2", "--gpus", "none").stdout


def test_cpu_slots_share_the_cores_and_a_failure_is_reported_with_its_log_line(tmp_path, sweep):
    toy = toy_experiment(tmp_path, n=3, seconds=0.1, fail=(1,))
    done = sweep("local", toy, "--jobs", "3", "--gpus", "none")
    assert done.returncode == 1
    assert {r["threads"] for r in records(toy).values()} == {str(max(1, len(os.sched_getaffinity(0)) // 3))}
    assert {r["gpus"] for r in records(toy).values()} == {None}
    assert "failed: runs/seed1  exit code 3: error: the loss diverged at epoch 2" in done.stdout
    assert not (toy / "tables.txt").exists()
    status = sweep("status", toy).stdout
    assert "failed   runs/seed1  exit code 3" in status and "2 done" in status
    assert "seed0" not in status  # done runs are listed only with --all
    assert "done     runs/seed0" in sweep("status", toy, "--all").stdout


def test_ctrl_c_stops_every_run_cleanly_and_a_rerun_finishes_them(tmp_path, sweep):
    toy = toy_experiment(tmp_path, n=3, seconds=30)
    proc = subprocess.Popen([sys.executable, "-m", "seqsi.sweep", "local", str(toy), "--jobs", "2", "--gpus", "none"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    deadline = time.time() + 60
    while len(list((toy / "active").iterdir())) < 2:
        assert time.time() < deadline and proc.poll() is None, proc.stdout.read() if proc.poll() is not None else ""
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    interrupted = sorted(p.parent.name for p in (toy / "runs").glob("*/interrupted"))
    assert len(interrupted) == 2 and not list((toy / "active").iterdir())  # both got Ctrl-C and exited
    for name in interrupted:
        assert state_of(toy / "runs" / name).state == "partial"
    assert "run the same command again to resume" in out
    assert "2 partial, 1 missing" in sweep("plan", toy, "--quiet").stdout
    for path in (toy / "runs").glob("*/record.json"):
        path.write_text(path.read_text().replace('"argv"', '"first_argv"'))
    (toy / "train.py").write_text(TOY_TRAIN.replace("seconds = float(", "seconds = 0 * float("))
    done = sweep("local", toy, "--jobs", "2", "--gpus", "none")
    assert done.returncode == 0, done.stdout
    assert all("argv" in r for r in records(toy).values()) and len(records(toy)) == 3  # all three ran (again)
    assert "3 done" in sweep("plan", toy, "--quiet").stdout


def test_sbatch_script_runs_each_task_with_its_exact_flags(tmp_path, sweep):
    """The written script is plain bash: run it as SLURM would (SLURM_ARRAY_TASK_ID set) and
    check that task 1 ran run 1 with its flags verbatim, through the sweep's exec wrapper."""
    toy = toy_experiment(tmp_path, n=2, seconds=0.05, extra=("--set", "note=a b 'c'"))
    done = sweep("slurm", toy, "--dry_run", "--partition", "gpu_p13", "--account", "abc@v100", "--time", "02:00:00",
                 "--gpus", "2", "--concurrency", "1", "--torchrun", "--setup", "module load pytorch-gpu",
                 "--sbatch=--constraint=v100-32g")
    assert done.returncode == 0, done.stderr
    script = toy / "runs" / "sweep" / "sbatch.sh"
    text = script.read_text()
    for line in ("#SBATCH --array=0-1%1", "#SBATCH --partition=gpu_p13", "#SBATCH --account=abc@v100",
                 "#SBATCH --time=02:00:00", "#SBATCH --gres=gpu:2", "#SBATCH --cpus-per-task=20",
                 "#SBATCH --constraint=v100-32g", "#SBATCH --requeue", "module load pytorch-gpu",
                 "--nproc_per_node=2"):
        assert line in text, line
    # the same script without torchrun and setup, run by bash as array task 1
    sweep("slurm", toy, "--dry_run")
    task = subprocess.run(["bash", str(script)], capture_output=True, text=True,
                          env={**ENV, "SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_JOB_ID": "77"})
    assert task.returncode == 0, task.stdout + task.stderr
    record = records(toy)["seed1"]
    assert record["argv"][-2:] == ["--set", "note=a b 'c'"]
    assert json.loads((toy / "runs" / "seed1" / STATUS).read_text())["slurm_job"] == "77_1"
    assert state_of(toy / "runs" / "seed1").state == "done" and state_of(toy / "runs" / "seed0").state == "missing"
    assert "0-0" in sweep("slurm", toy, "--dry_run").stdout + script.read_text()  # only the run not done
    bad = subprocess.run(["bash", str(script)], capture_output=True, text=True, env={**ENV, "SLURM_ARRAY_TASK_ID": "9"})
    assert bad.returncode == 2 and "no run for array task 9" in bad.stderr


@pytest.mark.slow
def test_run_all_seeds_runs_nothing_for_empty_lists(tmp_path):
    """`TELESCOPIC=""` and friends reach the matrix as "none" through the bash scripts."""
    cases = {CIFAR: {"DATASET": "digits", "QUICK": "1", "SEEDS": "5", "MODES": "", "TELESCOPIC": ""},
             CZI: {"QUICK": "1", "TRAIN_TYPES": ""}, LOC2D: {"QUICK": "1", "LOSSES": ""},
             LOC3D: {"QUICK": "1", "GROUPS_": ""}}
    done = side_by_side(*[dict(args=["bash", str(folder / "scripts" / "run_all_seeds.sh")],
                               env={**ENV, "PYTHON": sys.executable, "OUT": str(tmp_path / folder.name), **env})
                          for folder, env in cases.items()])  # each is mostly the interpreter's start-up
    for folder, result in zip(cases, done):
        assert result.returncode == 0, result.stderr
        assert ": 0 runs in" in result.stdout and "0 to run" in result.stdout, result.stdout
        assert not (tmp_path / folder.name).exists()
