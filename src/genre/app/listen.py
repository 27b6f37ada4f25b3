"""`genre listen CLIP_ID...`: render augmented clips as WAV files, to hear what augment does.

Run from the project folder after `dvc repro augment`: each clip of the manifest is made from
its track as featurize makes it, and written as <out>/<clip_id>.wav at data.sample_rate.
"""

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from genre.errors import GenreError, printable
from genre.paths import INDEX, MANIFEST, RAW_DIR

if TYPE_CHECKING:
    import pandas as pd


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "clip_ids",
        nargs="*",
        metavar="CLIP_ID",
        help="clip ids from data/augmented/manifest.csv, e.g. blues.00000.noise1",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("listen"),
        help="folder for the WAV files (default: listen/)",
    )
    parser.add_argument(
        "--random",
        type=int,
        default=0,
        metavar="N",
        help="also render N augmented clips picked at random",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed for --random (default: a different pick each time)",
    )


def run(args: argparse.Namespace) -> None:
    if args.random < 0:
        raise GenreError(f"--random must be 0 or more, got {args.random}")
    if not args.clip_ids and not args.random:
        raise GenreError("name clip ids (see data/augmented/manifest.csv) or use --random N")
    from genre import params
    from genre.features.augment import COLUMNS
    from genre.files import read_csv

    sample_rate = params.load("data").sample_rate
    manifest = read_csv(MANIFEST, columns=COLUMNS, made_by="augment")
    index = read_csv(INDEX, columns=["track_id", "path"], made_by="download")
    rows = choose(manifest, args.clip_ids, random=args.random, seed=args.seed)
    for path, description in render(rows, index, out_dir=args.out, sample_rate=sample_rate):
        print(f"{printable(path)}  {description}")


def choose(
    manifest: "pd.DataFrame", clip_ids: list[str], *, random: int = 0, seed: int | None = None
) -> "pd.DataFrame":
    """The manifest rows of clip_ids (in that order), then `random` augmented ones."""
    import numpy as np
    import pandas as pd

    by_id = manifest.set_index("clip_id", drop=False)
    unknown = [c for c in clip_ids if c not in by_id.index]
    if unknown:
        example = by_id.index[min(1, len(by_id) - 1)] if len(by_id) else "blues.00000.noise1"
        raise GenreError(
            f"unknown clip id {unknown[0]!r}: clip ids are listed in {MANIFEST}, e.g. {example}"
        )
    rows = by_id.loc[list(clip_ids)]
    if random:
        pool = manifest[(manifest["transform"] != "original") & ~manifest["clip_id"].isin(clip_ids)]
        pick = np.random.default_rng(seed).choice(len(pool), min(random, len(pool)), replace=False)
        rows = pd.concat([rows, pool.iloc[np.sort(pick)]])
    return rows.reset_index(drop=True)


def render(
    rows: "pd.DataFrame", index: "pd.DataFrame", *, out_dir: Path, sample_rate: int
) -> list[tuple[Path, str]]:
    """Write each row's clip to out_dir/<clip_id>.wav; return (path, description) pairs."""
    from genre.audio import read, write_wav
    from genre.features.augment import apply

    paths = dict(zip(index["track_id"], index["path"], strict=True))
    missing = [t for t in rows["track_id"] if t not in paths]
    if missing:
        raise GenreError(
            f"track {missing[0]} is not in {INDEX}: the manifest is stale, run `dvc repro augment`"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for _, row in rows.iterrows():
        samples = read(RAW_DIR / paths[row["track_id"]], sample_rate=sample_rate).samples
        path = out_dir / f"{row['clip_id']}.wav"
        write_wav(path, apply(samples, row, sample_rate=sample_rate), sample_rate=sample_rate)
        written.append((path, transform_label(row)))
    return written


def transform_label(row: "pd.Series") -> str:
    """One line saying what was done to the track, e.g. 'noise at 14.2 dB SNR'."""
    transform = row["transform"]
    if transform == "noise":
        return f"white noise at {row['snr_db']:.1f} dB SNR"
    if transform == "shift":
        return f"circular shift by {row['shift_s']:+.2f} s"
    if transform == "stretch":
        return f"time stretch at rate {row['stretch_rate']:.3f}"
    return "original track"
