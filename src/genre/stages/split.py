"""Stage `split`: train/test side of every clip (data/split/split.csv, metrics/split.json).

Reads params `split` (and `data.source`, to refuse the filtered GTZAN lists on synthetic data
and the official split on a source without one), only the id columns of
data/features/summary.parquet (rows keep its order) and, for the official split,
data/raw/index.csv's official_split.
"""

from pathlib import Path

import pandas as pd
import pyarrow
import pyarrow.parquet as pq

from genre import params
from genre.errors import GenreError, run_cli
from genre.files import read_csv, write_csv, write_json
from genre.paths import ID_COLUMNS, INDEX, SPLIT, SPLIT_METRICS, SUMMARY
from genre.split import assign, headline, official_sides, summarize

OFFICIAL_SOURCES = ("fma",)  # sources with an official split (index.csv's official_split)


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
    split_params, source = params.load("split"), params.load("data").source
    if split_params.strategy == "filtered" and source == "synthetic":
        raise GenreError(
            "split.strategy filtered needs real GTZAN track ids, but data.source "
            "is synthetic: use data.source gtzan, or split.strategy track"
        )
    official = None
    if split_params.strategy == "official":
        if source not in OFFICIAL_SOURCES:
            raise GenreError(
                f"split.strategy official needs a source with an official split (data.source "
                f"fma), but data.source is {source}: use split.strategy track (or filtered "
                "for real GTZAN)"
            )
        index = read_csv(INDEX, columns=["track_id"], made_by="download")
        official = official_sides(index)
    split = assign(read_clips(), params=split_params, official=official)
    counts = summarize(split)
    write_csv(split, SPLIT)
    write_json(headline(counts), SPLIT_METRICS)
    lists = "its official split" if official is not None else "the filtered lists"
    excluded = (
        f", {counts['excluded_clips']} clips of {counts['excluded_tracks']} tracks "
        f"not in {lists} excluded (subset `excluded` in split.csv)"
        if counts["excluded_clips"]
        else ""
    )
    valid = (
        f", valid {counts['valid_clips']} clips / {counts['valid_tracks']} tracks (early "
        "stopping only)"
        if counts["valid_clips"]
        else ""
    )
    print(
        f"split ({split_params.strategy}): train {counts['train_clips']} clips / "
        f"{counts['train_tracks']} tracks{valid}, test {counts['test_clips']} clips / "
        f"{counts['test_tracks']} tracks, {counts['tracks_on_both_sides']} tracks on both "
        f"sides{excluded} -> {SPLIT}"
    )


if __name__ == "__main__":
    run_cli(main)
