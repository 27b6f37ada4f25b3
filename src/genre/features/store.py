"""featurize's outputs, written all or nothing, in manifest order: summary.parquet (ids, then one
feature per column), sequences.npy (float32 [clips, steps, features]), skipped.csv (clips that
could not be made, and why) and the stage's metrics."""

import contextlib
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from genre import paths
from genre.errors import GenreError
from genre.features import extraction
from genre.features.layout import FeatureSettings
from genre.files import atomic_path, write_csv, write_json

SHOWN_SKIPS = 20  # skipped clips printed; all are listed in skipped.csv
ROW_GROUP = 8192  # summary.parquet rows written at a time, and so read at a time


def featurize(
    index: pd.DataFrame,
    manifest: pd.DataFrame,
    *,
    settings: FeatureSettings,
    n_jobs: int,
    raw_dir: Path = paths.RAW_DIR,
    out_dir: Path = paths.FEATURES_DIR,
    metrics_path: Path = paths.FEATURIZE_METRICS,
) -> dict:
    """Featurize every manifest clip, write the four outputs (all or none); return the metrics."""
    jobs = extraction.track_jobs(index, manifest, raw_dir=raw_dir)
    outputs = {
        "sequences": out_dir / paths.SEQUENCES.name,
        "summary": out_dir / paths.SUMMARY.name,
        "skipped": out_dir / paths.FEATURES_SKIPPED.name,
        "metrics": metrics_path,
    }
    with contextlib.ExitStack() as stack:
        tmp = {name: stack.enter_context(atomic_path(path)) for name, path in outputs.items()}
        summary, rows, reasons = extraction.collect(
            jobs, n_clips=len(manifest), settings=settings, n_jobs=n_jobs, into=tmp["sequences"]
        )
        if len(reasons) == len(manifest):
            raise GenreError(f"no clip could be featurized; the first failure: {reasons[0]}")
        kept = manifest.iloc[rows]
        write_summary(tmp["summary"], kept[paths.ID_COLUMNS], summary, rows, settings.names)
        skipped = manifest.iloc[list(reasons)][["clip_id", "track_id"]]
        skipped = skipped.assign(reason=list(reasons.values()))
        write_csv(skipped, tmp["skipped"])
        metrics = {
            "clips": len(kept),
            "skipped": len(reasons),
            "tracks": int(kept["track_id"].nunique()),
            "steps": settings.steps,
            "features": len(settings.names),
        }
        write_json(metrics, tmp["metrics"])
    for row in skipped.head(SHOWN_SKIPS).itertuples():
        print(f"skipped {row.clip_id}: {row.reason}", file=sys.stderr)
    if len(skipped) > SHOWN_SKIPS:
        more = len(skipped) - SHOWN_SKIPS
        print(f"... and {more} more: see {outputs['skipped']}", file=sys.stderr)
    return metrics


def write_summary(path: Path, ids: pd.DataFrame, summary, rows, names) -> None:
    """summary.parquet: the clips' ids, then one column per feature, written a row group at a
    time (`summary[rows]`, a memory map, is never read whole)."""
    with pq.ParquetWriter(path, schema=_schema(names)) as writer:
        for start in range(0, len(rows), ROW_GROUP):
            part = ids.iloc[start : start + ROW_GROUP].reset_index(drop=True).astype(str)
            values = pd.DataFrame(summary[rows[start : start + ROW_GROUP]], columns=list(names))
            frame = pd.concat([part, values], axis=1)
            writer.write_table(pa.Table.from_pandas(frame, schema=writer.schema))


def _schema(names) -> pa.Schema:
    columns = [pa.field(c, pa.string()) for c in paths.ID_COLUMNS]
    return pa.schema(columns + [pa.field(n, pa.float32()) for n in names])
