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

# The two functions below reach the services (seqsi.prediction) from the package's facade;
# they import it when called, so that importing any part of seqsi does not load them all.


def predict(model, images, **kwargs):
    """Detections (or class predictions) of numpy arrays; see seqsi.prediction.predict."""
    from .prediction import predict as _predict

    return _predict(model, images, **kwargs)


def pretrained(name: str, device: str = "cpu"):
    """A shipped pretrained model by name (`seqsi models` lists them), in eval mode, with its
    detection threshold as `.seqsi_threshold`; see seqsi.prediction.pretrained."""
    from .prediction import pretrained as _pretrained

    return _pretrained(name, device)


__all__ = ["__version__", "build_model", "get_mode", "predict", "pretrained"]
