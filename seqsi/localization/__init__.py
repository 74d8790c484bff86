"""Object localization: score maps, centre detection, matching, accuracy curves, thresholds.

Coordinates are array indices in axis order, (y, x) in 2D and (z, y, x) in 3D. This
package works on numpy arrays and plain torch modules; it never imports seqsi.models.
"""
from .scoremaps import check_labels, check_same_shape, label_centres, score_map

__all__ = ["check_labels", "check_same_shape", "label_centres", "score_map"]
