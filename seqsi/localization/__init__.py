"""Object localization: score maps, centre detection, matching, accuracy curves, thresholds.

Coordinates are array indices in axis order, (y, x) in 2D and (z, y, x) in 3D. This
package works on numpy arrays and plain torch modules; it never imports seqsi.models.

    maps = score_map(labels)                            # ground truth for training
    t = fit_threshold(val_outputs, val_centres, loss)   # after training, stored with the run
    centres = detect_centres(output, loss, t)           # post-process, blur, maxima, threshold
    score = localization_score(centres, label_centres(labels), max_dist=6)   # one image
    score = set_localization_score(centres_per_image, centres_of_masks, 6)    # a set, as the paper
"""
from .inference import is_tiled, predict_map, predict_maps, predict_tiled, unet_geometry, unet_receptive_margin
from .losses import LOSSES, BCELoss, LocalizationLoss, ZMSELoss, get_loss
from .matching import (accuracy_curve, curve_from_counts, localization_score, match, match_counts, match_dense,
                       set_accuracy_curve, set_localization_score)
from .peaks import find_peaks, gaussian_blur, local_maxima, peak_halo, window_maximum
from .scoremaps import biased_label_centres, check_labels, check_same_shape, label_centres, score_map
from .threshold import MAX_DIST_FIT, SEARCHES, centres_from_masks, detect_centres, fit_threshold, grid_search_min

__all__ = [
    "BCELoss", "LOSSES", "LocalizationLoss", "MAX_DIST_FIT", "SEARCHES", "ZMSELoss", "accuracy_curve",
    "biased_label_centres", "centres_from_masks", "check_labels", "check_same_shape", "curve_from_counts",
    "detect_centres", "find_peaks", "fit_threshold", "gaussian_blur", "get_loss", "grid_search_min", "is_tiled",
    "label_centres", "local_maxima", "localization_score", "match", "match_counts", "match_dense", "peak_halo",
    "predict_map", "predict_maps", "predict_tiled", "score_map", "set_accuracy_curve", "set_localization_score",
    "unet_geometry", "unet_receptive_margin", "window_maximum",
]
