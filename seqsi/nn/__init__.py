"""Building blocks of photometrically equivariant networks, for 1D, 2D and 3D data."""
from .activations import SortPool
from .constrained import ConstrainedConv, SumToOneConv, SumToOneLinear, ZeroSumConv, constrain
from .modes import MODE_NAMES, Mode, get_mode, mode_labels
from .norms import NORMS, make_norm
from .residual import AffineSum, ConvexSum, Sum
from .upsample import AffineUpsample, PixelShuffle, pixel_shuffle
from .wrappers import SignSymmetric, Standardize, ZScoreInput, standardize

__all__ = [
    "AffineSum", "AffineUpsample", "ConstrainedConv", "ConvexSum", "MODE_NAMES", "Mode", "NORMS", "PixelShuffle",
    "SignSymmetric", "SortPool", "Standardize", "Sum", "SumToOneConv", "SumToOneLinear", "ZScoreInput",
    "ZeroSumConv", "constrain", "get_mode", "make_norm", "mode_labels", "pixel_shuffle", "standardize",
]
