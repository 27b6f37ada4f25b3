"""Stage featurize: the features of every manifest clip (data/features/, metrics/featurize.json).

Writes, all or nothing, in manifest order: summary.parquet (ids, then one feature per column),
sequences.npy (float32 [clips, steps, features]) and skipped.csv (clips that could not be made,
and why). GENRE_N_JOBS and GENRE_DASK_SCHEDULER choose what runs the work, not what it gives.
"""

from genre import params, paths
from genre.errors import run_cli
from genre.features import augment, extraction
from genre.features.layout import FeatureSettings
from genre.features.store import featurize
from genre.files import read_csv


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
