"""SEqSI: photometrically robust neural networks (Messaoudi et al., ICLR 2026).

A network is SEqSI (scale-equivariant, shift-invariant) when f(a*x + b) = a*f(x) for
every intensity scale a > 0 and shift b. `seqsi.nn` has the layers and the mode
registry, `seqsi.models` the networks, `seqsi.convert` makes an existing model SEqSI,
and `seqsi.invariance.audit` certifies the property layer by layer.
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("seqsi")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.1.0"

from .models import build_model  # noqa: E402
from .nn import get_mode  # noqa: E402



def predict(model, images, **kwargs):
    """Detections (or class predictions) of numpy arrays; see seqsi.prediction.predict."""
    from .prediction import predict as _predict

    return _predict(model, images, **kwargs)


__all__ = ["__version__", "build_model", "get_mode", "predict"]
