"""Object localization experiments (2D and 3D alike): train, fit the threshold, evaluate, invariance.

    config      the config schema, tiny_config (seqsi/configs/localization_tiny.yaml), run names
    data        split folders, the validation hold-out, crops, the threshold fit's images
    scoring     detections of a network and their per-image and set-level scores
    threshold   the detection threshold: fitted after training, stored, read back
    training    train_localizer
    evaluation  test sets (alterations, artifact folders), evaluate_localizer / evaluate_run
    invariance  detections under x -> a*x + b (the paper's 2D protocol)
    scripts     the experiment folders' train.py / eval.py

Model-level inference (predict_maps, tiling) is seqsi.localization.inference.

A run folder holds config.yaml, best.pt / last.pt / metrics.csv (seqsi.engine.fit),
threshold.json (the fitted detection threshold: eval reads it from there), results.csv,
per_image.csv, overlays/ and invariance.csv. Images are min-max normalised to [0, 1] before
any alteration, as in the paper; every model sees identical corrupted images.
"""
from .config import DTYPES, TINY_CONFIG, method_names, run_dir_for, run_fields, tiny_config
from .data import (CENTROIDS, ValidationCrops, altered_validation_images, crop_set, load_items, photometric_augment,
                   reference_centres, training_items, validation_crops, validation_names)
from .evaluation import (PER_IMAGE_FILE, artifact_test_sets, evaluate_localizer, evaluate_run, evaluation_folder,
                         read_per_image, save_detections, skipped_artifact_sets, test_sets_of)
from .invariance import INVARIANCE_FILE, invariance_experiment, invariance_run
from .scoring import curve_metrics, detect_in, eval_copy, score_detections, set_metrics
from .scripts import (add_training_arguments, evaluation_main, find_runs, training_main,
                      training_overrides)
from .threshold import THRESHOLD_FILE, fit_and_store_threshold, fit_run_threshold, read_threshold
from .training import train_localizer

__all__ = [
    "CENTROIDS", "DTYPES", "INVARIANCE_FILE", "PER_IMAGE_FILE", "THRESHOLD_FILE", "TINY_CONFIG",
    "ValidationCrops", "add_training_arguments", "altered_validation_images", "artifact_test_sets", "crop_set",
    "curve_metrics", "detect_in", "eval_copy", "evaluate_localizer", "evaluate_run", "evaluation_folder",
    "evaluation_main", "find_runs", "fit_and_store_threshold", "fit_run_threshold", "invariance_experiment",
    "invariance_run", "load_items", "method_names", "photometric_augment", "read_per_image", "read_threshold",
    "reference_centres", "run_dir_for", "run_fields", "save_detections", "score_detections",
    "set_metrics", "skipped_artifact_sets", "test_sets_of", "tiny_config", "train_localizer", "training_items",
    "training_main", "training_overrides", "validation_crops", "validation_names",
]
