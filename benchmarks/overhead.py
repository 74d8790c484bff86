"""Throughput of every mode against Standard on the paper's CIFAR ResNet.

Measures, side by side in one run, the eval forward pass (no_grad) and one SGD train
step (forward, backward, step) at batch 128, 32x32, no norm. Modes are interleaved
within each repeat so that drift of the machine hits all of them alike; the figure is
the median over repeats. Targets (issue 2): SEqSI/standard >= 0.95 for a train step and
>= 0.98 for the eval forward pass (exit status 3 if missed).

    python benchmarks/overhead.py                 # paper network, CPU
    python benchmarks/overhead.py --device cuda   # on a GPU (adds each mode's peak train-step memory)
    python benchmarks/overhead.py --device cuda --dtype bf16   # under bf16 autocast
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from seqsi import build_model
from seqsi.nn import get_mode
from side_by_side import TARGET_MISSED

MODES = ("standard", "seq", "seqsi", "seqsi_telescopic", "affeq", "affeq_telescopic", "zscore", "seqsi_sym")
TARGETS = {"seqsi": {"train": 0.95, "forward": 0.98}}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device) -> float:
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--modes", nargs="+", default=list(MODES))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--widths", type=int, nargs=3, default=(64, 128, 256), help="smaller for a quick look")
    parser.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32", help="bf16: torch.autocast")
    args = parser.parse_args()
    # canonical names (aliases such as ordinary or seqsi_avg welcome), Standard always measured
    args.modes = list(dict.fromkeys(["standard", *(get_mode(m).name for m in args.modes)]))
    device = torch.device(args.device)
    torch.manual_seed(0)

    models, optims = {}, {}
    for mode in args.modes:
        models[mode] = build_model("cifar_resnet", mode, 2, widths=tuple(args.widths)).to(device)
        optims[mode] = torch.optim.SGD(models[mode].parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(args.batch, 3, args.size, args.size, device=device)
    y = torch.randint(0, 10, (args.batch,), device=device)
    loss_fn = torch.nn.CrossEntropyLoss()
    cuda = device.type == "cuda"
    peak = dict.fromkeys(args.modes, 0)

    def autocast():
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.dtype == "bf16")

    def forward(mode):
        model = models[mode].eval()
        with torch.no_grad(), autocast():
            model(x)

    def train_step(mode):
        model, opt = models[mode].train(), optims[mode]
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
        opt.zero_grad(set_to_none=True)
        with autocast():
            out = model(x)
        loss_fn(out.float(), y).backward()
        opt.step()
        if cuda:
            peak[mode] = max(peak[mode], torch.cuda.max_memory_allocated(device))

    times = {(mode, kind): [] for mode in args.modes for kind in ("forward", "train")}
    for repeat in range(args.repeats + 1):  # the first round warms up and is discarded
        for mode in args.modes:
            for kind, fn in (("forward", forward), ("train", train_step)):
                t = timed(lambda: fn(mode), device)
                if repeat:
                    times[mode, kind].append(t)

    med = {key: statistics.median(v) for key, v in times.items()}
    base = {kind: med["standard", kind] for kind in ("forward", "train")}
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"CIFAR ResNet widths {tuple(args.widths)}, batch {args.batch}, {args.size}x{args.size}, no norm, {name}, "
          f"{args.dtype}, median of {args.repeats}")
    print(f"{'mode':<18} {'forward img/s':>14} {'ratio':>7} {'train img/s':>12} {'ratio':>7} {'peak GB':>8}  target")
    failed = False
    for mode in args.modes:
        f_rate, t_rate = args.batch / med[mode, "forward"], args.batch / med[mode, "train"]
        f_ratio, t_ratio = base["forward"] / med[mode, "forward"], base["train"] / med[mode, "train"]
        target = TARGETS.get(mode)
        verdict = ""
        if target:
            ok = t_ratio >= target["train"] and f_ratio >= target["forward"]
            failed |= not ok
            verdict = f"{'PASS' if ok else 'FAIL'} (train >= {target['train']}, forward >= {target['forward']})"
        mem = f"{peak[mode] / 1e9:>8.2f}" if cuda else f"{'-':>8}"
        print(f"{mode:<18} {f_rate:>14.1f} {f_ratio:>7.3f} {t_rate:>12.1f} {t_ratio:>7.3f} {mem}  {verdict}")
    raise SystemExit(TARGET_MISSED if failed else 0)


if __name__ == "__main__":
    main()
