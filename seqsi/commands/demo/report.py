"""The demo's report folder: CSV and Markdown tables, certificates and PNG figures."""
from __future__ import annotations

import shutil
from pathlib import Path

from ...io import write_csv, write_text
from ...nn.modes import get_mode, mode_labels
from ...photometric import load_suite
from ...report.plots import color_map, plot_curves, plot_grouped_bars
from ...report.tables import aggregate, write_table


def classification_report(result: dict, modes: list[str], suite_name: str, out: Path) -> str:
    """Writes the classification tables and figures; returns the Markdown summary."""
    names = mode_labels(modes)
    colors = color_map(names.values())
    suite = load_suite(suite_name)
    labels = {**names, **suite.titles}
    write_csv(out / "classification_results.csv", result["results"])
    table = aggregate(result["results"], "method", "testset", "accuracy", seed_key=None, scale=100, decimals=1,
                      labels=labels, row_order=[(n,) for n in names], col_order=[(t,) for t in suite.test_sets])
    write_table(table, out, "classification")
    plot_grouped_bars(table.to_grouped(), out / "accuracy_per_corruption.png", ylabel="test accuracy (%)",
                      title="Digits: accuracy per corruption of the CIFAR-10 suite", colors=colors, ylim=(0, 100))

    write_csv(out / "classification_sweeps.csv", result["sweeps"])
    for kind, key, xlabel, logx, ref in (("scale", "a", "intensity scale a (x -> a x)", True, 1.0),
                                         ("shift", "b", "intensity shift b (x -> x + b)", False, 0.0)):
        curves = {}
        for name, label in names.items():
            rows = [r for r in result["sweeps"] if r["method"] == name and r["sweep"] == kind]
            curves[label] = ([r[key] for r in rows], [100 * r["accuracy"] for r in rows])
        plot_curves(curves, out / f"accuracy_vs_{kind}.png", xlabel=xlabel, ylabel="test accuracy (%)",
                    title=f"Digits: accuracy versus {kind} (float64)", logx=logx, reference=ref,
                    baseline=(10.0, "chance"), colors=colors, ylim=(0, 100))

    cert_rows = [{k: v for k, v in c.items() if k != "table"} for c in result["certificates"]]
    write_csv(out / "certification.csv", cert_rows)
    write_text(out / "certification.txt", "\n\n".join(f"== {c['method']} ==\n{c['table']}" for c in result["certificates"]))
    lines = ["| mode | promise checked | verdict | worst relative error | first module that breaks it |",
             "|---|---|---|---|---|"]
    for c in cert_rows:
        verdict = "PASS" if c["passed"] else "FAIL"
        lines.append(f"| {names[c['method']]} | {c['property']} | {verdict} | {c['worst_relative_error']:.1e} | "
                     f"{c['first_break'] or '-'} |")
    certification = "\n".join(lines)
    write_text(out / "certification.md", certification + "\n")
    return (f"## Classification: scikit-learn digits ({result['train_images']} training, {result['test_images']} "
            f"test images)\n\nTest accuracy (%) on the clean and every corrupted test set:\n\n{table.to_markdown()}\n\n"
            f"![accuracy versus scale](accuracy_vs_scale.png)\n\n![accuracy versus shift](accuracy_vs_shift.png)\n\n"
            f"### Certificates of the trained models (float64, `seqsi.invariance.audit`)\n\n{certification}\n")


def localization_report(result: dict, modes: list[str], out: Path) -> str:
    """Writes the localization tables and copies the overlays; returns the Markdown summary."""
    names = {f"{r['method']}|{r['loss']}": f"{get_mode(r['method']).label} + {r['loss'].upper()}"
             for r in result["results"]}
    rows = [{**r, "model": f"{r['method']}|{r['loss']}"} for r in result["results"]]
    inv = [{**r, "model": f"{r['method']}|{r['loss']}"} for r in result["invariance"]]
    labels = {**names, **load_suite("fluorescence").titles}
    order = [(k,) for k in names]
    write_csv(out / "localization_results.csv", result["results"])
    write_csv(out / "localization_invariance_results.csv", result["invariance"])
    score = aggregate(rows, "model", "testset", "score", seed_key=None, decimals=3, labels=labels, row_order=order)
    f1 = aggregate(rows, "model", "testset", "f1", seed_key=None, decimals=3, labels=labels, row_order=order)
    acc0 = aggregate(inv, "model", "testset", "acc0", seed_key=None, decimals=3, labels=labels, row_order=order)
    for table, stem in ((score, "localization_score"), (f1, "localization_f1"), (acc0, "localization_invariance")):
        write_table(table, out, stem)
    figures = []
    for mode in modes:
        for source in result["overlays"].get(mode, [])[:1]:
            target = out / f"localization_overlay_{get_mode(mode).name}.png"
            shutil.copyfile(source, target)
            figures.append(f"![{get_mode(mode).label} detections]({target.name})")
    return (f"## Localization: the embedded DSB2018 nuclei image ({result['test_images']} test region)\n\n"
            f"Score (mean of the accuracy curve against the ground-truth centres) on the clean and altered test "
            f"image:\n\n{score.to_markdown()}\n\nInvariance (paper, 2D): accuracy_curve[0] of the centres found on "
            f"a x + b against those found on x, float64 (1.0: nothing moved):\n\n{acc0.to_markdown()}\n\n"
            + "\n\n".join(figures) + "\n")
