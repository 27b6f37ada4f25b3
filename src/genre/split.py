"""Train/test split of the clips, by source track so no song is on both sides.

`split.strategy`: track (default; the tracks are split, stratified by genre), clip (the
method's leaky per-clip split, kept to show what it inflates), filtered (GTZAN's fault-filtered
lists) or official (the source's own split, with its validation set for early stopping).
"""

import math
from importlib import resources

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from genre.errors import GenreError
from genre.files import check_ids
from genre.params import SplitParams
from genre.paths import ID_COLUMNS, SUMMARY

SUBSETS = ("train", "test")
VALID = "valid"  # official: the early-stopping set of the neural models, never scored
EXCLUDED = "excluded"
OFFICIAL_SIDES = ("train", VALID, "test")
FILTERED_CSV = "resources/gtzan_filtered.csv"
# What `dvc exp show` displays of the split: data size, test size and the leak (the clip
# strategy puts tracks on both sides). The other counts are printed by the stage.
METRIC_KEYS = ("clips", "train_tracks", "test_tracks", "tracks_on_both_sides")


def assign(
    clips: pd.DataFrame, *, params: SplitParams, official: dict[str, str] | None = None
) -> pd.DataFrame:
    """clips[ID_COLUMNS] plus `subset` (train | test; excluded under filtered and official;
    valid under official), same order. `official` (track_id -> train | valid | test) is the
    source's own split, which the official strategy needs."""
    _check_clips(clips)
    out = clips[ID_COLUMNS].reset_index(drop=True)
    if params.strategy == "track":
        subset = split_by_track(out, test_size=params.test_size, seed=params.seed)
    elif params.strategy == "clip":
        subset = split_by_clip(out, test_size=params.test_size, seed=params.seed)
    elif params.strategy == "official":
        subset = split_official(out, official or {})
    else:
        subset = split_filtered(out, filtered_lists())
    return out.assign(subset=subset)


def split_by_track(clips: pd.DataFrame, *, test_size: float, seed: int) -> np.ndarray:
    """Subset per clip: its track's side in a genre-stratified split of the tracks."""
    tracks = clips.drop_duplicates("track_id")
    test = set(
        _stratified_test(
            tracks["track_id"], tracks["genre"], test_size=test_size, seed=seed, what="tracks"
        )
    )
    return np.where(clips["track_id"].isin(test), "test", "train")


def split_by_clip(clips: pd.DataFrame, *, test_size: float, seed: int) -> np.ndarray:
    """Subset per clip from a genre-stratified split of the clips (leaks tracks; see above)."""
    test = _stratified_test(
        pd.Series(clips.index), clips["genre"], test_size=test_size, seed=seed, what="clips"
    )
    subset = np.full(len(clips), "train", dtype=object)
    subset[np.asarray(test)] = "test"
    return subset


def split_filtered(clips: pd.DataFrame, lists: pd.DataFrame) -> np.ndarray:
    """Subset per clip from the filtered GTZAN lists (valid counts as train)."""
    side = dict(zip(lists["track_id"], lists["subset"].replace({"valid": "train"}), strict=True))
    subset = clips["track_id"].map(side).fillna(EXCLUDED).to_numpy(dtype=object)
    if (subset == EXCLUDED).all():
        raise GenreError(
            f"split.strategy filtered needs real GTZAN track ids (like blues.00012), but none of "
            f"the {clips['track_id'].nunique()} tracks is in the filtered lists: use "
            "data.source gtzan, or split.strategy track"
        )
    return subset


def split_official(clips: pd.DataFrame, sides: dict[str, str]) -> np.ndarray:
    """Subset per clip: its track's side in the source's own split (train | valid | test),
    excluded for a track without one. GenreError when no track is on the train or test side."""
    subset = clips["track_id"].map(sides).fillna("")
    subset = subset.where(subset.isin(OFFICIAL_SIDES), EXCLUDED).to_numpy(dtype=object)
    for side in SUBSETS:
        if not (subset == side).any():
            raise GenreError(
                f"split.strategy official: no track of the data set is on the {side} side of "
                "its official split (data/raw/index.csv, official_split): select genres or a "
                "subset that has both (data.genres, data.fma_subset), or use split.strategy "
                "track"
            )
    return subset


def official_sides(index: pd.DataFrame) -> dict[str, str]:
    """track_id -> side from data/raw/index.csv's official_split column (written by a source
    with an official split: fma); GenreError when it has none."""
    if "official_split" not in index:
        raise GenreError(
            "split.strategy official needs the source's own split, but data/raw/index.csv has "
            "no official_split column: run `dvc repro download` with data.source fma"
        )
    sides = index["official_split"].fillna("").astype(str)
    return dict(zip(index["track_id"].astype(str), sides, strict=True))


def filtered_lists() -> pd.DataFrame:
    """track_id, subset (train | valid | test): torchaudio's filtered GTZAN lists (930 tracks)."""
    with resources.files("genre").joinpath(FILTERED_CSV).open() as f:
        return pd.read_csv(f, dtype=str)


def summarize(split: pd.DataFrame) -> dict[str, int]:
    """Counts of clips and tracks per side (train, test, valid, excluded) and the leak."""
    counts = {"clips": len(split), "tracks": split["track_id"].nunique()}
    for side in (*SUBSETS, VALID, EXCLUDED):
        part = split[split["subset"] == side]
        counts[f"{side}_clips"] = len(part)
        counts[f"{side}_tracks"] = part["track_id"].nunique()
    counts["test_original_clips"] = int(
        ((split["subset"] == "test") & (split["transform"] == "original")).sum()
    )
    tracks = split.groupby("track_id")["subset"]
    counts["tracks_on_both_sides"] = int((tracks.nunique() > 1).sum())
    return counts


def headline(counts: dict[str, int]) -> dict[str, int]:
    """The counts metrics/split.json keeps (a DVC metric: few numbers, read at a glance)."""
    return {key: counts[key] for key in METRIC_KEYS}


def _stratified_test(
    ids: pd.Series, genres: pd.Series, *, test_size: float, seed: int, what: str
) -> list:
    """The test part of a genre-stratified split of ids (sklearn train_test_split)."""
    counts = genres.value_counts()
    more = "use more clips per genre (data.clips_per_genre, or more files in data.local_path)"
    if counts.min() < 2:
        raise GenreError(
            f"split: genre {counts.idxmin()} has only 1 of the {len(ids)} {what}; a "
            f"genre-stratified split needs at least 2 per genre: {more}, or drop that genre"
        )
    n_test = math.ceil(test_size * len(ids))
    if n_test < len(counts):
        raise GenreError(
            f"split: split.test_size {test_size} gives {n_test} test {what} for {len(counts)} "
            f"genres (at least one each): raise split.test_size to at least "
            f"{math.ceil(100 * len(counts) / len(ids)) / 100:g}, or {more}"
        )
    if len(ids) - n_test < len(counts):
        raise GenreError(
            f"split: split.test_size {test_size} leaves {len(ids) - n_test} training {what} for "
            f"{len(counts)} genres: lower split.test_size, or {more}"
        )
    try:
        _, test = train_test_split(
            ids.tolist(), test_size=test_size, random_state=seed, stratify=genres.tolist()
        )
    except ValueError as err:
        raise GenreError(
            f"split: cannot split {len(ids)} {what} of {len(counts)} genres with "
            f"split.test_size {test_size} ({err}): change split.test_size, or {more}"
        ) from None
    tested = set(genres[ids.isin(test)]) if what == "tracks" else set(genres.iloc[test])
    untested = [g for g in counts.index if g not in tested]
    if untested:
        genre = untested[0]
        raise GenreError(
            f"split: genre {genre} gets none of its {counts[genre]} {what} in the test set with "
            f"split.test_size {test_size}: raise split.test_size to at least "
            f"{math.ceil(100 / counts[genre]) / 100:g}, or {more}"
        )
    return test


def _check_clips(clips: pd.DataFrame) -> None:
    check_ids(clips, path=SUMMARY, column="clip_id", what="clip", made_by="featurize")
    genres = clips.groupby("track_id")["genre"].nunique()
    if (genres > 1).any():
        raise GenreError(
            f"{SUMMARY} gives track {genres.idxmax()} two "
            "genres: run `dvc repro download augment featurize`"
        )
