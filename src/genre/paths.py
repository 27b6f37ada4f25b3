"""Where each stage reads and writes: one home for every data path and the clip id columns.

Paths are relative to the project folder (where dvc.yaml is), as DVC runs the stages there.
"""

from pathlib import Path

PARAMS = Path("params.yaml")

RAW_DIR = Path("data/raw")  # download: <genre>/<genre>.<NNNNN>.wav
INDEX = RAW_DIR / "index.csv"
RAW_SKIPPED = RAW_DIR / "skipped.csv"
MANIFEST = Path("data/augmented/manifest.csv")  # augment: one recipe row per clip
FEATURES_DIR = Path("data/features")
SUMMARY = FEATURES_DIR / "summary.parquet"
SEQUENCES = FEATURES_DIR / "sequences.npy"
FEATURES_SKIPPED = FEATURES_DIR / "skipped.csv"
SPLIT = Path("data/split/split.csv")
PREDICTIONS_DIR = Path("data/predictions")  # <model>.parquet: test-clip predictions
MODELS_DIR = Path("models")  # <arch>.keras, ensemble.json
METRICS_DIR = Path("metrics")
TRAIN_METRICS_DIR = METRICS_DIR / "train"  # dvclive, one folder per architecture
REPORT = METRICS_DIR / "report.json"  # evaluate: every score with its interval

# The id columns of every per-clip table (summary.parquet, split.csv, predictions).
ID_COLUMNS = ["clip_id", "track_id", "genre", "transform"]


def predictions_path(model: str) -> Path:
    return PREDICTIONS_DIR / f"{model}.parquet"
