"""Stage featurize: the features of every manifest clip (data/features/, metrics/featurize.json).

Writes, all or nothing, in manifest order: summary.parquet (ids, then one feature per column),
sequences.npy (float32 [clips, steps, features]) and skipped.csv (clips that could not be made,
and why). GENRE_N_JOBS and GENRE_DASK_SCHEDULER choose what runs the work, not what it gives.
"""

import contextlib
import sys
from pathlib import Path

import pandas as pd

from genre import params, paths
from genre.errors import GenreError, run_cli
from genre.features import augment, extraction
from genre.features.layout import FeatureSettings
from genre.files import atomic_path, read_csv, write_csv, write_json

SHOWN_SKIPS = 20  # skipped clips printed; all are listed in skipped.csv


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
        summary, reasons = extraction.collect(
            jobs, n_clips=len(manifest), settings=settings, n_jobs=n_jobs, into=tmp["sequences"]
        )
        if len(reasons) == len(manifest):
            raise GenreError(f"no clip could be featurized; the first failure: {reasons[0]}")
        kept = manifest.drop(index=manifest.index[list(reasons)])
        table = kept[paths.ID_COLUMNS].reset_index(drop=True).astype(str)
        values = pd.DataFrame(summary, columns=list(settings.names))
        pd.concat([table, values], axis=1).to_parquet(tmp["summary"], index=False)
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


def main() -> None:
    data = params.load("data")
    settings = FeatureSettings(data.sample_rate, data.duration_s, params.load("featurize"))
    index = read_csv(paths.INDEX, columns=["track_id", "genre", "path"], made_by="download")
    manifest = read_csv(paths.MANIFEST, columns=augment.COLUMNS, made_by="augment")
    metrics = featurize(index, manifest, settings=settings, n_jobs=extraction.worker_count())
    print(
        f"featurize: {metrics['clips']} clips of {metrics['tracks']} tracks -> "
        f"{paths.FEATURES_DIR} ({metrics['steps']} steps x {metrics['features']} features), "
        f"{metrics['skipped']} skipped"
    )


if __name__ == "__main__":
    run_cli(main)
