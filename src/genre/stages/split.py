"""Stage `split`: train/test side of every clip (data/split/split.csv, metrics/split.json).

Reads params `split` (and `data.source`, to refuse the filtered GTZAN lists on synthetic data)
and only the id columns of data/features/summary.parquet; rows keep its order.
"""

from pathlib import Path

import pandas as pd
import pyarrow
import pyarrow.parquet as pq

from genre import params
from genre.errors import GenreError, run_cli
from genre.files import write_csv, write_json
from genre.paths import ID_COLUMNS, SPLIT, SPLIT_METRICS, SUMMARY
from genre.split import assign, headline, summarize


def read_clips(path: Path = SUMMARY) -> pd.DataFrame:
    """The id columns of summary.parquet, with clear errors when it is missing or stale."""
    if not path.is_file():
        raise GenreError(f"{path} is missing: run `dvc repro featurize` first")
    try:
        names = pq.read_schema(path).names
        missing = [c for c in ID_COLUMNS if c not in names]
        if missing:
            raise GenreError(
                f"{path} lacks columns {missing}: it is stale, run `dvc repro featurize`"
            )
        clips = pd.read_parquet(path, columns=ID_COLUMNS)
    except (pyarrow.ArrowException, OSError) as err:
        raise GenreError(f"{path} is unreadable ({err}): run `dvc repro featurize`") from None
    return clips.astype(str)


def main() -> None:
    split_params = params.load("split")
    if split_params.strategy == "filtered" and params.load("data").source == "synthetic":
        raise GenreError(
            "split.strategy filtered needs real GTZAN track ids, but data.source "
            "is synthetic: use data.source gtzan, or split.strategy track"
        )
    split = assign(read_clips(), params=split_params)
    counts = summarize(split)
    write_csv(split, SPLIT)
    write_json(headline(counts), SPLIT_METRICS)
    excluded = (
        f", {counts['excluded_clips']} clips of {counts['excluded_tracks']} tracks "
        "not in the filtered lists excluded (subset `excluded` in split.csv)"
        if counts["excluded_clips"]
        else ""
    )
    print(
        f"split ({split_params.strategy}): train {counts['train_clips']} clips / "
        f"{counts['train_tracks']} tracks, test {counts['test_clips']} clips / "
        f"{counts['test_tracks']} tracks, {counts['tracks_on_both_sides']} tracks on both "
        f"sides{excluded} -> {SPLIT}"
    )


if __name__ == "__main__":
    run_cli(main)
