"""Cost of the corrupted test sets: evaluating clean + 13 corrupted CIFAR-10 test sets against
14 clean passes over the same images, through the same runner (seqsi.engine.evaluate).

The corrupted copies are generated on the fly from a seed, on the model's device; the target
(issue 4) is a ratio of at most 1.25 (exit status 3 if missed). Both sides alternate within
each repeat; the figure is the median ratio. Images are random uint8 CIFAR-shaped tensors
(the cost does not depend on their content).

    python benchmarks/evaluation.py                    # paper network, CPU
    python benchmarks/evaluation.py --device cuda --images 10000
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from seqsi import build_model
from seqsi.engine.evaluate import evaluate_classifier
from seqsi.photometric import load_suite
from side_by_side import TARGET_MISSED


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mode", default="standard")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--widths", type=int, nargs=3, default=(64, 128, 256))
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = build_model("cifar_resnet", args.mode, 2, widths=tuple(args.widths)).to(device).eval()
    images = torch.randint(0, 256, (args.images, 3, 32, 32), dtype=torch.uint8)
    labels = torch.randint(0, 10, (args.images,))
    suite = [(c.name, c) for c in load_suite("cifar10").test_corruptions()]
    clean = [("clean", None)] * len(suite)

    def timed(test_sets) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        evaluate_classifier(model, images, labels, test_sets, seed=0, batch_size=args.batch, device=device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    timed(suite[:2])  # warm-up
    suite_times, clean_times = [], []
    for _ in range(args.repeats):
        suite_times.append(timed(suite))
        clean_times.append(timed(clean))
    ratio = statistics.median(s / c for s, c in zip(suite_times, clean_times))
    print(f"{args.images} images, CIFAR ResNet {tuple(args.widths)} ({args.mode}), batch {args.batch}, "
          f"{device if device.type == 'cuda' else f'CPU, {torch.get_num_threads()} threads'}, {args.repeats} repeats")
    print(f"clean + 13 corrupted sets: {statistics.median(suite_times):8.2f} s")
    print(f"14 clean passes:           {statistics.median(clean_times):8.2f} s")
    print(f"ratio {ratio:.3f}  target <= 1.25: {'PASS' if ratio <= 1.25 else 'FAIL'}")
    raise SystemExit(0 if ratio <= 1.25 else TARGET_MISSED)


if __name__ == "__main__":
    main()
