"""Object localization: score maps, centre detection, matching, accuracy curves, thresholds.

Coordinates are array indices in axis order, (y, x) in 2D and (z, y, x) in 3D. This
package works on numpy arrays and plain torch modules; it never imports seqsi.models.

    maps = score_map(labels)                            # ground truth for training
    t = fit_threshold(val_outputs, val_centres, loss)   # after training, stored with the run
    centres = detect_centres(output, loss, t)           # post-process, blur, maxima, threshold
    score = localization_score(centres, label_centres(labels), max_dist=6)
"""
from .inference import predict_tiled, unet_receptive_margin
from .losses import LOSSES, BCELoss, LocalizationLoss, ZMSELoss, get_loss
from .matching import accuracy_curve, localization_score, match, match_dense
from .blur import gaussian_blur
from .peaks import find_peaks, local_maxima, peak_halo, window_maximum
from .scoremaps import check_labels, check_same_shape, label_centres, score_map
from .threshold import MAX_DIST_FIT, centres_from_masks, detect_centres, fit_threshold

__all__ = [
    "BCELoss", "LOSSES", "LocalizationLoss", "MAX_DIST_FIT", "ZMSELoss", "accuracy_curve", "centres_from_masks",
    "check_labels", "check_same_shape", "detect_centres", "find_peaks", "fit_threshold", "gaussian_blur",
    "get_loss", "label_centres", "local_maxima", "localization_score", "match", "match_dense", "peak_halo", "predict_tiled",
    "score_map", "unet_receptive_margin", "window_maximum",
]
