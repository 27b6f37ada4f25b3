"""Where each stage reads and writes: one home for every data path and the clip id columns.

Paths are relative to the project folder (where dvc.yaml is): DVC runs the stages there.
"""

from pathlib import Path

RAW_DIR = Path("data/raw")  # download: <genre>/<genre>.<NNNNN>.wav
INDEX = RAW_DIR / "index.csv"
RAW_SKIPPED = RAW_DIR / "skipped.csv"
SUSPICIOUS = RAW_DIR / "suspicious.csv"
MANIFEST = Path("data/augmented/manifest.csv")  # augment: one recipe row per clip
FEATURES_DIR = Path("data/features")
SUMMARY = FEATURES_DIR / "summary.parquet"
SEQUENCES = FEATURES_DIR / "sequences.npy"
FEATURES_SKIPPED = FEATURES_DIR / "skipped.csv"
SPLIT = Path("data/split/split.csv")
PREDICTIONS_DIR = Path("data/predictions")  # <model>.parquet: test-clip predictions
MODELS_DIR = Path("models")  # <arch>.keras and .json, baseline.joblib, ensemble.json
BASELINE_MODEL = MODELS_DIR / "baseline.joblib"
METRICS_DIR = Path("metrics")
FEATURIZE_METRICS = METRICS_DIR / "featurize.json"
SPLIT_METRICS = METRICS_DIR / "split.json"
TRAIN_METRICS_DIR = METRICS_DIR / "train"  # dvclive, one folder per architecture
EVALUATE_METRICS = METRICS_DIR / "evaluate.json"  # the DVC metric
REPORT = METRICS_DIR / "report.json"  # evaluate: every score with its interval
RECALL = METRICS_DIR / "recall.csv"
CONFUSION_DIR = METRICS_DIR / "confusion"

# The id columns of every per-clip table (summary.parquet, split.csv, predictions).
ID_COLUMNS = ["clip_id", "track_id", "genre", "transform"]


def predictions_path(model: str) -> Path:
    return PREDICTIONS_DIR / f"{model}.parquet"
