"""Localization (2D DSB2018, 3D fluorescence) side by side with the paper's code.

For each suite: every mode of the UNet (paper: 2D DRUNet, 3D EquivUNet3D) with the paper's
weights copied into ours, then the post-processing, losses, peaks, set-level curves and
threshold searches on equal inputs. The paper's scripts do their work inside hydra mains,
so the pieces that live there (the set-level curve of training/testing, the objective of
the threshold fit) are restated here from those files, line for line in meaning, and fed
the paper's own find_centers / pairing / centers_from_mask / NormalizedMSE / grid search.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import minimize_scalar
from scipy.spatial.distance import cdist

from seqsi.localization import ZMSELoss, accuracy_curve, find_peaks, get_loss, label_centres, local_maxima
from seqsi.localization.matching import set_accuracy_curve
from seqsi.localization.threshold import fit_threshold, grid_search_min
from seqsi.localization.scoremaps import biased_label_centres
from seqsi.models import build_model

from .check import Check, close
from .paper_import import import_paper

# paper mode name -> ours; the paper's localization nets are telescopic only
MODES = {"ordinary": "standard", "scale-equiv": "seq", "norm-equiv": "affeq_telescopic", "seqsi": "seqsi_telescopic"}
SUITES = {
    "loc2d": dict(folder="object_localization/2D", dims=2, net="models.drunet", cls="DRUNet",
                  widths=(64, 128, 256, 512), blocks=4, post_activation=False, shape=(52, 44),
                  max_dist_fit=12, max_dist_test=12, max_dist_inv=10),
    "loc3d": dict(folder="object_localization/3D", dims=3, net="models.unet", cls="EquivUNet3D",
                  widths=(32, 64, 128, 256), blocks=3, post_activation=True, shape=(20, 18, 17),
                  max_dist_fit=6, max_dist_test=6, max_dist_inv=6),
}


# ----------------------------------------------------------------------------- weights

def paper_key_to_ours(key: str) -> str:
    """The name of the paper's UNet parameter `key` in our UNet."""
    parts = key.split(".")
    top = {"m_head": "head", "m_down": "down", "m_body": "body", "m_up": "up", "m_tail": "tail", "res": "skips"}
    parts[0] = top[parts[0]]
    out = []
    i = 0
    while i < len(parts):
        p = parts[i]
        if p == "m_res":  # ResBlock: m_res.0 / m_res.2 are the two convolutions
            out.append({"0": "conv1", "2": "conv2"}[parts[i + 1]])
            i += 2
            continue
        if p == "sum":
            out.append("merge")
        elif p == "conv1x1":  # the AffEq up-sampling: 1x1 conv then pixel shuffle
            out.append("0")
        else:
            out.append(p)
        i += 1
    return ".".join(out)


def _unets(paper_cls, cfg: dict, paper_mode: str, seed: int):
    torch.manual_seed(seed)
    paper = paper_cls(mode=paper_mode) if cfg["dims"] == 3 else paper_cls(blind=True, mode=paper_mode)
    paper = paper.double().eval()
    with torch.no_grad():  # move every alpha away from 0.5 so that its side matters
        for name, p in paper.named_parameters():
            if name.endswith("alpha"):
                p.copy_(torch.rand(1, dtype=p.dtype) * 2 - 0.5)
    ours = build_model("drunet", MODES[paper_mode], cfg["dims"], widths=list(cfg["widths"]), blocks=cfg["blocks"],
                       post_activation=cfg["post_activation"]).double().eval()
    theirs = paper.state_dict()
    mine = ours.state_dict()
    mapped = {paper_key_to_ours(k): v for k, v in theirs.items()}
    missing = sorted(set(mine) - set(mapped))
    extra = sorted(set(mapped) - set(mine))
    if missing or extra:
        raise RuntimeError(f"{paper_mode}: parameters without a counterpart: ours {missing[:4]}, paper's {extra[:4]}")
    for k, v in mapped.items():
        if mine[k].shape != v.shape:
            raise RuntimeError(f"{paper_mode}: {k} has shape {tuple(mine[k].shape)}, the paper's {tuple(v.shape)}")
    ours.load_state_dict(mapped)
    return paper, ours


def model_checks(paper_repo, suite: str, cfg: dict) -> list[Check]:
    (net,) = import_paper(paper_repo, cfg["folder"], cfg["net"])
    paper_cls = getattr(net, cfg["cls"])
    checks = []
    for k, paper_mode in enumerate(MODES):
        paper, ours = _unets(paper_cls, cfg, paper_mode, seed=k)
        torch.manual_seed(100 + k)
        x = torch.rand(2, 1, *cfg["shape"], dtype=torch.float64)
        with torch.no_grad():
            # one image at a time: the paper pads a batch with the batch mean, ours with each image's
            theirs = torch.cat([paper(x[i:i + 1]) for i in range(len(x))])
            mine = ours(x)
        n_paper = _count_activations(paper)
        n_ours = _count_activations(ours)
        checks.append(close(suite, f"UNet {MODES[paper_mode]} (paper {paper_mode}) output, copied weights", mine,
                            theirs, detail=f"input {tuple(x.shape)}, float64; activations {n_ours} vs {n_paper}"))
        if n_ours != n_paper:
            checks.append(Check(suite, f"UNet {MODES[paper_mode]} activation count", None, False,
                                f"ours {n_ours}, paper's {n_paper}"))
    return checks


def _count_activations(model: torch.nn.Module) -> int:
    return sum(type(m).__name__ in ("ReLU", "LeakyReLU", "SortPool") for m in model.modules())


# ----------------------------------------------------------------------------- paper's set-level rules

def paper_set_curve(pairing, pred_list, ref_list, max_dist: int) -> np.ndarray:
    """The set-level curve of the paper's training.py / testing.py / inv_experiment.py."""
    tot_ref = tot_pred = 0
    matchings = []
    for pred, ref in zip(pred_list, ref_list):
        tot_ref += len(ref)
        tot_pred += len(pred)
        if len(pred) > 0:
            _, _, dist = pairing(cdist(pred, ref, metric="euclidean"))
            matchings.append(dist[dist < max_dist])
    if not matchings:
        return np.zeros(max_dist)
    hist, _ = np.histogram(np.concatenate(matchings), bins=list(range(max_dist + 1)))
    cum = np.cumsum(hist)
    return cum / (tot_ref + tot_pred - cum)


def _random_maps(rng, shape, count: int, objects: int):
    """Label masks with blob-like objects and noisy score maps peaking near them."""
    from scipy import ndimage

    masks, maps = [], []
    grid = np.indices(shape)
    for _ in range(count):
        mask = np.zeros(shape, np.int32)
        score = rng.normal(0, 0.05, shape)
        for k in range(objects):
            c = rng.uniform(3, np.array(shape) - 3)
            r = rng.uniform(1.5, 3.5)
            d = np.sqrt(sum((g - ci) ** 2 for g, ci in zip(grid, c)))
            mask[(d <= r) & (mask == 0)] = k + 1
            jitter = c + rng.normal(0, 0.8, len(shape))
            score += np.exp(-sum((g - ci) ** 2 for g, ci in zip(grid, jitter)) / (2 * r**2)) * rng.uniform(0.5, 1)
        maps.append(ndimage.gaussian_filter(score, 0.5))
        masks.append(mask)
    return masks, maps


def pipeline_checks(paper_repo, suite: str, cfg: dict) -> list[Check]:
    dims = cfg["dims"]
    modules = import_paper(paper_repo, cfg["folder"], "tools.inference_tools", "tools.mask_processing",
                           "loss.normalized_mse" if dims == 2 else "loss.norm_mse",
                           *(["tools.optim_tools"] if dims == 3 else []))
    inference, masks_mod, loss_mod = modules[:3]
    checks = []
    rng = np.random.default_rng(7 + dims)
    shape = (64, 72) if dims == 2 else (24, 30, 28)
    masks, raw = _random_maps(rng, shape, count=4 if dims == 2 else 3, objects=14 if dims == 2 else 8)

    # losses on a batch: ZMSE (unbiased std, as the paper) and BCE-with-logits
    pred = torch.randn(3, *shape[-2:], dtype=torch.float64)
    target = torch.rand(3, *shape[-2:], dtype=torch.float64)
    theirs = loss_mod.NormalizedMSE(norm_type="mean-std")(pred, target)
    checks.append(close(suite, "ZMSE loss", get_loss("zmse")(pred, target), theirs, detail="batch of 3, float64"))
    checks.append(close(suite, "BCE-with-logits loss", get_loss("bce")(pred, target),
                        torch.nn.BCEWithLogitsLoss()(pred, target)))

    # score maps: the paper's post_process lambdas (sigmoid, or z-score with x.std())
    out = torch.from_numpy(raw[0] * 7.0 - 2.0)
    population = float(((out - out.mean()) / out.std(correction=0) - (out - out.mean()) / out.std()).abs().max())
    checks.append(close(suite, "z-score map (ZMSE post-processing)", ZMSELoss().postprocess(out),
                        (out - out.mean()) / out.std(), detail=f"population std would differ by {population:.1e}"))
    checks.append(close(suite, "sigmoid map (BCE post-processing)", get_loss("bce").postprocess(out),
                        torch.sigmoid(out)))

    # peaks: the paper's find_centers (float32 maps, zero-padded neighbours at the border)
    maps = [np.asarray((ZMSELoss().postprocess(torch.from_numpy(m))).float().numpy()) for m in raw]
    diffs, counts, ignored = 0, 0, 0
    for m in maps:
        for t in (-0.2, 0.5, 1.0, 2.0):
            theirs = inference.find_centers(torch.from_numpy(m), t).numpy()
            mine = find_peaks(m, t, border="zero")
            counts += len(theirs)
            diffs += not np.array_equal(theirs, mine)
            ignored += not np.array_equal(theirs, find_peaks(m, t, border="ignore"))
    checks.append(Check(suite, "peaks (find_centers), border zero-padded", 0.0 if not diffs else None, diffs == 0,
                        f"{len(maps)} maps x 4 thresholds, {counts} peaks, {diffs} differ; "
                        f"border=ignore: {ignored} differ"))

    # reference centres: ours (true centroids) and the paper's (the flag)
    true_diff = max(float(np.abs(label_centres(mk) - masks_mod.centers_from_mask(mk)).max()) for mk in masks)
    if dims == 2:
        checks.append(close(suite, "reference centres (centers_from_mask)", np.concatenate([label_centres(mk) for mk in masks]),
                            np.concatenate([masks_mod.centers_from_mask(mk) for mk in masks])))
    else:
        checks.append(close(suite, "reference centres, paper's biased rule (centroids: paper)",
                            np.concatenate([biased_label_centres(mk) for mk in masks]),
                            np.concatenate([masks_mod.centers_from_mask(mk) for mk in masks]),
                            detail=f"our true centroids differ from the paper's by up to {true_diff:.2f} px"))
    refs = [masks_mod.centers_from_mask(mk) for mk in masks]

    # set-level curves at several thresholds, for the fit's, the test's and the invariance's radius
    worst = apart = 0.0
    for t in (0.5, 1.0, 1.5, 2.5):
        preds = [inference.find_centers(torch.from_numpy(m), t).numpy().astype(np.float64) for m in maps]
        for max_dist in {cfg["max_dist_fit"], cfg["max_dist_test"], cfg["max_dist_inv"]}:
            theirs = paper_set_curve(inference.pairing, preds, refs, max_dist)
            mine = set_accuracy_curve(preds, refs, max_dist)
            worst = max(worst, float(np.abs(theirs - mine).max()))
            per_image = np.mean([accuracy_curve(p, r, max_dist) for p, r in zip(preds, refs)], axis=0)
            apart = max(apart, float(np.abs(theirs - per_image).max()))
    checks.append(Check(suite, "set-level accuracy curves (sum TP, n_pred, n_ref over the set)", worst,
                        worst <= 1e-12, f"{len(maps)} images x 4 thresholds x max_dist "
                        f"{sorted({cfg['max_dist_fit'], cfg['max_dist_test'], cfg['max_dist_inv']})}; "
                        f"mean of per-image curves would differ by {apart:.2f}"))

    # threshold fit: the paper's objective and search (2D: bounded Brent, 3D: iterative grid)
    max_dist = cfg["max_dist_fit"]

    def paper_objective(th):
        preds = [inference.find_centers(torch.from_numpy(m), th).numpy() for m in maps]
        if dims == 3 and sum(len(p) for p in preds) == 0:
            return 0
        return -paper_set_curve(inference.pairing, preds, refs, max_dist).sum() / max_dist

    outputs = [np.asarray(r, np.float32) for r in raw]  # raw outputs: fit_threshold post-processes them
    if dims == 2:
        theirs = minimize_scalar(paper_objective, method="bounded", bounds=(0.5, 5.0), options={"maxiter": 10}).x
        mine = fit_threshold(outputs, refs, "zmse", max_dist, search="brent", maxiter=10, border="zero")
        checks.append(close(suite, "threshold fit, ZMSE: bounded Brent on (0.5, 5), 10 iterations", mine, theirs))
    else:
        optim_tools = modules[3]
        theirs = optim_tools.iterative_grid_search_min(paper_objective, bounds=(0.5, 20))
        mine = fit_threshold(outputs, refs, "zmse", max_dist, search="grid", zscore_range=(0.5, 20), border="zero")
        checks.append(close(suite, "threshold fit, ZMSE: grid 11 points x 3 rounds on (0.5, 20)", mine, theirs))
        f = lambda x: (x - 3.3) ** 2 + 0.1 * np.sin(7 * x)  # noqa: E731
        checks.append(close(suite, "iterative grid search on a known function",
                            grid_search_min(f, (0.5, 20)), optim_tools.iterative_grid_search_min(f, (0.5, 20))))
    # BCE: bounds from the largest probability, then the same search
    logits = [np.asarray(4 * r - 2, np.float32) for r in raw]
    prob_maps = [torch.sigmoid(torch.from_numpy(z)).numpy() for z in logits]
    top = max(float(p.max()) for p in prob_maps)

    def paper_bce(th):
        preds = [inference.find_centers(torch.from_numpy(m), th).numpy() for m in prob_maps]
        if dims == 3 and sum(len(p) for p in preds) == 0:
            return 0
        return -paper_set_curve(inference.pairing, preds, refs, max_dist).sum() / max_dist

    if dims == 2:
        theirs = minimize_scalar(paper_bce, method="bounded", bounds=(0.1 * top, 0.95 * top), options={"maxiter": 10}).x
        mine = fit_threshold(logits, refs, "bce", max_dist, search="brent", maxiter=10, border="zero")
    else:
        theirs = modules[3].iterative_grid_search_min(paper_bce, bounds=(0.1 * top, 0.95 * top))
        mine = fit_threshold(logits, refs, "bce", max_dist, search="grid", border="zero")
    checks.append(close(suite, "threshold fit, BCE: bounds 0.1..0.95 x max probability", mine, theirs))
    return checks


def run(paper_repo, suites) -> list[Check]:
    checks = []
    for suite, cfg in SUITES.items():
        if suite in suites:
            checks += model_checks(paper_repo, suite, cfg)
            checks += pipeline_checks(paper_repo, suite, cfg)
    return checks
