"""Training inputs: every clip's features (its summary, or its sequence of windows) aligned
with the side split.csv gives it, and the data set's genres (its sorted genre names: the
models' output order and labels).
"""

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from genre import GENRE_NAME, genre_list
from genre.errors import GenreError
from genre.files import read_csv
from genre.paths import ID_COLUMNS, SEQUENCES, SPLIT, SUMMARY


@dataclass
class Inputs:
    """Features of every clip (row i of `x` is row i of `rows`) and the split table."""

    x: np.ndarray  # [clips, features] or [clips, steps, features]; may be a read-only memory map
    rows: pd.DataFrame  # clip_id, track_id, genre, transform, subset (train|valid|test|excluded)
    genres: tuple[str, ...] = field(default=())  # model outputs; () = genre_list(rows.genre)

    def __post_init__(self):
        found = genre_list(self.rows["genre"])
        self.genres = tuple(self.genres) or found
        unknown = sorted(set(found) - set(self.genres))
        if unknown:
            raise GenreError(
                f"inputs: clips of genres {unknown[:3]} are not in the genre list "
                f"{list(self.genres)}: list every genre of the data"
            )


CHUNK_ROWS = 4096  # rows read, converted or checked at a time


def _stale(path: Path, what: str, stage: str) -> GenreError:
    return GenreError(f"{path} {what}: it is stale, run `dvc repro {stage}`")


def load_inputs(
    *,
    sequences: bool,
    summary_path: Path = SUMMARY,
    sequences_path: Path = SEQUENCES,
    split_path: Path = SPLIT,
) -> Inputs:
    """Every clip's summary features, or its sequence (`sequences`), aligned with split.csv."""
    rows = read_csv(split_path, columns=[*ID_COLUMNS, "subset"], made_by="split", text=True)
    bad = sorted({str(g) for g in rows["genre"] if not GENRE_NAME.fullmatch(str(g))})
    if bad:
        raise _stale(split_path, f"has genres that are not genre names {bad[:3]}", "split")
    subsets = set(rows["subset"])
    if not {"train", "test"} <= subsets <= {"train", "test", "valid", "excluded"}:
        raise _stale(
            split_path, "needs train and test rows (and no subset but valid, excluded)", "split"
        )
    path = sequences_path if sequences else summary_path
    if not path.is_file():
        raise GenreError(f"{path} is missing: run `dvc repro featurize` first")
    try:
        if sequences:
            x = np.load(path, mmap_mode="r", allow_pickle=False)
        else:
            x = _summary_features(path, rows=rows, split_path=split_path)
    except GenreError:
        raise
    except Exception as err:  # pyarrow and numpy raise many types for a broken file
        raise _stale(path, f"is unreadable ({type(err).__name__})", "featurize") from None
    if x.dtype != np.float32 or x.ndim != (3 if sequences else 2):
        raise _stale(path, f"holds {x.dtype} {x.shape}, not float32 features", "featurize")
    if len(x) != len(rows):
        raise _stale(split_path, f"has {len(rows)} rows but {path} has shape {x.shape}", "split")
    if x.shape[-1] == 0 or not _finite(x):
        raise _stale(path, "has no features or non-finite values", "featurize")
    return Inputs(x=x, rows=rows.reset_index(drop=True))


def _summary_features(path: Path, *, rows: pd.DataFrame, split_path: Path) -> np.ndarray:
    """summary.parquet's feature columns [clips, features] as float32, read a batch of rows at
    a time into a memory map beside it (its file is removed at once and lives while the process
    maps it), each batch's ids checked against split.csv's on the way, so memory does not grow
    with the data."""
    table = pq.ParquetFile(path, pre_buffer=False)  # read as it goes, a row group at a time
    columns = [c for c in table.schema_arrow.names if c not in ID_COLUMNS]
    numeric = [pa.types.is_floating(table.schema_arrow.field(c).type) for c in columns]
    if not all(numeric):
        raise _stale(path, "has non-numeric feature columns", "featurize")
    if table.metadata.num_rows != len(rows):
        raise _stale(split_path, f"does not list the clips of {path} in order", "split")
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".npy") as f:
        x = np.lib.format.open_memmap(
            f.name, mode="w+", dtype=np.float32, shape=(len(rows), len(columns))
        )
    expected = rows["clip_id"].to_numpy()
    start = 0
    batches = table.iter_batches(
        batch_size=CHUNK_ROWS, columns=["clip_id", *columns], use_threads=False
    )
    for batch in batches:
        end = start + len(batch)
        if batch.column(0).to_pylist() != expected[start:end].tolist():
            raise _stale(split_path, f"does not list the clips of {path} in order", "split")
        x[start:end] = np.column_stack([c.to_numpy() for c in batch.columns[1:]])
        start = end
    pa.default_memory_pool().release_unused()  # the decoded row groups, back to the system
    return x


def _finite(x: np.ndarray) -> bool:
    """Whether every value is finite, checked a chunk of rows at a time."""
    return all(np.isfinite(x[s : s + CHUNK_ROWS]).all() for s in range(0, len(x), CHUNK_ROWS))


def labels(names: pd.Series | list[str], *, genres: tuple[str, ...]) -> np.ndarray:
    """Genre names -> indices into `genres` (the data's genre list, Inputs.genres)."""
    index = {g: i for i, g in enumerate(genres)}
    return np.array([index[g] for g in names], dtype="int64")
