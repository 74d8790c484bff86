"""3D convolutions on oneDNN where torch's CPU size rule misses them (seqsi/nn/onednn.py), side by side.

For a batch of one, torch takes oneDNN for a float32 3x3x3 convolution only when N*C*D*H
exceeds 20480, leaving out the volume's last dim. Per level of the paper's 3D UNet (32..256
channels, a 24³ crop at batch 1; the stem's one channel stays on torch's kernel, as torch's
rule has it), each convolution as torch dispatches it and as ours does, then the whole 3D
UNet's eval forward with our dispatch off and on. Rounds alternate the two sides; medians.
Outputs agree to float32 rounding (checked here).

    PYTHONPATH=. python benchmarks/conv3d.py [--threads 1] [--rounds 9]
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from side_by_side import alternated, parse

from seqsi import build_model
from seqsi.nn import onednn

LEVELS = ((1, 32, 24), (32, 32, 24), (64, 64, 12), (128, 128, 6), (256, 256, 3))  # in, out channels, side


def dispatch(enabled: bool, fn):
    def run():
        onednn.ENABLED = enabled
        try:
            return fn()
        finally:
            onednn.ENABLED = True
    return run


def main() -> None:
    args = parse(__doc__, rounds=9)
    print(f"3x3x3 convolution, padding 1, batch 1, {torch.get_num_threads()} torch threads, torch {torch.__version__}, "
          f"median of {args.rounds} alternated rounds")
    print(f"{'in -> out x side':<18} {'torch':>9} {'ours':>9} {'speed-up':>9}  max |difference|")
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for c_in, c_out, side in LEVELS:
            x = torch.randn(1, c_in, side, side, side, generator=gen)
            w = torch.randn(c_out, c_in, 3, 3, 3, generator=gen) / (27 * c_in) ** 0.5
            cases = {"torch": lambda: F.conv3d(x, w, padding=1),
                     "ours": lambda: onednn.conv3d(x, w, None, (1, 1, 1), (1, 1, 1), (1, 1, 1), 1)}
            diff = (cases["torch"]() - cases["ours"]()).abs().max().item()
            s = alternated(cases, args.rounds)
            print(f"{f'{c_in} -> {c_out} x {side}³':<18} {s['torch'] * 1e3:>7.2f}ms {s['ours'] * 1e3:>7.2f}ms "
                  f"{s['torch'] / s['ours']:>8.2f}x  {diff:.1e}")
        for mode in ("standard", "seqsi_telescopic", "affeq_telescopic"):
            torch.manual_seed(0)
            model = build_model("drunet", mode, 3, widths=(32, 64, 128, 256), blocks=3, post_activation=True).eval()
            x = torch.randn(1, 1, 24, 24, 24, generator=gen)
            cases = {"torch": dispatch(False, lambda: model(x)), "ours": dispatch(True, lambda: model(x))}
            rel = ((cases["torch"]() - cases["ours"]()).abs().max() / cases["torch"]().abs().max()).item()
            s = alternated(cases, args.rounds)
            print(f"3D UNet {mode:<17} eval forward 1 x 24³: torch {s['torch']:.3f}s, ours {s['ours']:.3f}s, "
                  f"{s['torch'] / s['ours']:.2f}x  (outputs within {rel:.1e} relative)")


if __name__ == "__main__":
    main()
