"""One training loop and one evaluation runner, shared by every experiment."""
from .checkpoint import load_checkpoint, load_model, save_checkpoint
from .config import load_config, parse_override, save_config
from .distributed import Context
from .tasks import Classification, MapRegression
from .trainer import TrainingDiverged, TrainSettings, evaluate_task, fit

__all__ = ["Classification", "Context", "MapRegression", "TrainSettings", "TrainingDiverged", "evaluate_task", "fit",
           "load_checkpoint", "load_config", "load_model", "parse_override", "save_checkpoint", "save_config"]
