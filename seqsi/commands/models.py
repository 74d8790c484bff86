"""`seqsi models`: the shipped pretrained models and their cards (seqsi.prediction.zoo)."""
from __future__ import annotations

import argparse
import json

from ..prediction.zoo import shipped


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the model cards as JSON")


def run(args: argparse.Namespace) -> int:
    cards = shipped()
    if args.json:
        print(json.dumps(cards, indent=1))
        return 0
    if not cards:
        print("no shipped models in this installation")
        return 1
    print(f"{'name':<20} {'dims':<5} {'mode':<10} {'loss':<5} {'threshold':>9}  {'clean score':>11}  description")
    for name, card in cards.items():
        test = card.get("test", {})
        score = f"{test['none']:.3f}" if "none" in test else "-"
        threshold = f"{card['threshold']:.3g}" if "threshold" in card else "-"
        print(f"{name:<20} {card.get('dims', '-')!s:<5} {card.get('mode', '-'):<10} {card.get('loss', '-'):<5} "
              f"{threshold:>9}  {score:>11}  {card.get('description', '')}")
    print("small models trained on synthetic data (docs/models.md); use: seqsi predict NAME image.tif --out DIR")
    return 0
