"""The Free Music Archive (FMA; Defferrard et al., 2017) as a data source, keeping its official,
artist-filtered training / validation / test split.

Each track of `data.fma_subset` becomes data/raw/<genre>/<genre>.<NNNNNN>.wav (its top-level
genre as a genre name), with its side of the split in index.csv (official_split). Read in place
from `data.local_path`, or downloaded from FMA's host (docs/data.md).
"""

import csv
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd

from genre import GENRE_NAME, GENRE_NAME_RULE, genre_list
from genre.errors import GenreError, printable
from genre.sources import local, remote
from genre.sources.local import Clip, Imported

HOST = "https://os.unil.cloud.switch.ch/fma/"
# sha1 as FMA's README publishes them (github.com/mdeff/fma, "2017-05-09 pre-publication
# release", the release the host serves)
METADATA = remote.Mirror(f"{HOST}fma_metadata.zip", sha1="f0df49ffe5f2a6008d7dc83c6915b31835dfe733")
AUDIO = {
    "small": remote.Mirror(f"{HOST}fma_small.zip", sha1="ade154f733639d52e35e32f5593efe5be76c6d70"),
    "medium": remote.Mirror(
        f"{HOST}fma_medium.zip", sha1="c67b69ea232021025fca9231fc1c7c1a063ab50b"
    ),
    "large": remote.Mirror(f"{HOST}fma_large.zip", sha1="497109f4dd721066b5ce5e5f250ec604dc78939e"),
}
SUBSETS = tuple(AUDIO)  # smallest first: each holds the ones before it
# What each archive may hold when extracted (genre.sources.remote.Limits), a quarter or more
# above the real one: fma_metadata.zip is 342 MiB of about 10 CSV tables (tracks.csv, the one
# extracted, is about 0.3 GB); fma_<subset>.zip holds 8,000 / 25,000 / 106,574 30 s MP3 clips
# (7.2 / 22 / 93 GiB) in 156 folders, with a README and a checksums file. A clip is about 1 MB;
# 100 MB allows any ID3 tag that carries pictures.
METADATA_LIMITS = remote.Limits(
    total_bytes=10_000_000_000, member_bytes=3_000_000_000, members=1_000
)
CLIP_BYTES = 100_000_000
LIMITS = {
    "small": remote.Limits(total_bytes=10_000_000_000, member_bytes=CLIP_BYTES, members=10_000),
    "medium": remote.Limits(total_bytes=30_000_000_000, member_bytes=CLIP_BYTES, members=30_000),
    "large": remote.Limits(total_bytes=125_000_000_000, member_bytes=CLIP_BYTES, members=120_000),
}
TRACKS_CSV = "fma_metadata/tracks.csv"
COLUMNS = {  # ours -> tracks.csv's (group, column)
    "genre_top": ("track", "genre_top"),
    "split": ("set", "split"),
    "subset": ("set", "subset"),
}
SPLITS = {"training": "train", "validation": "valid", "test": "test"}  # FMA's -> split.csv's
ERRATA_CSV = "resources/fma_errata.csv"
CLIP_FILE = re.compile(r"(?P<folder>\d{3})/(?P<track>\d{6})\.mp3")
# Reasons shared by many tracks (half of fma_large has no top-level genre): the download
# report counts them instead of printing a line per track; skipped.csv lists every one.
NO_GENRE = (
    "no top-level genre in tracks.csv (track.genre_top; FMA gives none to a track of several "
    "top-level genres)"
)
NOT_LISTED = "not a track of this subset in tracks.csv (set.subset)"
MISSING = "listed in tracks.csv as a track of this subset, but the file is missing"
NOT_A_CLIP = "not an FMA clip name (fma_<subset>/NNN/NNNNNN.mp3)"
GROUPED_REASONS = (NO_GENRE, NOT_LISTED, MISSING, NOT_A_CLIP)


@dataclass
class Plan:
    """The tracks of one subset sorted out: the clips to import (relative file name -> track
    id, genre, official side), the tracks skipped and why, the ones data.genres leaves out."""

    subset: str
    wanted: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    listed: set[str] = field(default_factory=set)  # file names of every track of the subset
    skipped: list[tuple[str, str]] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=dict)


def clip_name(track_id: str, subset: str) -> str:
    """A track's file, relative to the FMA folder: fma_small/000/000002.mp3 for track 2."""
    return f"fma_{subset}/{track_id[:3]}/{track_id}.mp3"


def genre_name(fma_genre: str) -> str | None:
    """Our name for an FMA top-level genre: ASCII lower case, every run of other characters a
    `-` ("Hip-Hop" -> hip-hop, "Old-Time / Historic" -> old-time-historic, "Soul-RnB" ->
    soul-rnb); None when that leaves no genre name (GENRE_NAME)."""
    ascii_name = unicodedata.normalize("NFKD", fma_genre).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return name if GENRE_NAME.fullmatch(name) else None


@cache
def errata() -> dict[str, str]:
    """FMA's known faulty clips (6-digit track id -> why), from the shipped resource."""
    with resources.files("genre").joinpath(ERRATA_CSV).open() as f:
        table = pd.read_csv(f, dtype=str)
    return dict(zip(table["track_id"], table["reason"], strict=True))


def read_tracks(path: str | Path) -> pd.DataFrame:
    """tracks.csv's track_id (6 digits), genre_top (FMA's name, "" for none), split and subset,
    one row per track. Reads only those columns, found by FMA's two header rows (group,
    column) above the index-name row `track_id` (what pandas' header=[0, 1] reads)."""
    path = Path(path)
    header = _header(path)
    positions = {}
    for ours, (group, column) in COLUMNS.items():
        found = [
            i for i, pair in enumerate(zip(*header[:2], strict=False)) if pair == (group, column)
        ]
        if not found:
            raise GenreError(
                f"{printable(path)}: has no column ({group}, {column}): it is not FMA's "
                "tracks.csv (from fma_metadata.zip); use FMA's own file"
            )
        positions[ours] = found[0]
    try:
        table = pd.read_csv(
            path,
            header=None,
            skiprows=3,
            usecols=[0, *positions.values()],
            dtype=str,
            keep_default_na=False,
            encoding="utf-8",
        )
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise GenreError(
            f"{printable(path)}: is not a readable CSV table ({reason}): use FMA's own tracks.csv"
        ) from None
    names = {0: "track_id", **{position: ours for ours, position in positions.items()}}
    table = table.rename(columns=names)[list(names.values())]  # read in the file's order
    return _checked_ids(table, path)


def _header(path: Path) -> list[list[str]]:
    """tracks.csv's first three rows: group, column, and the index name `track_id`."""
    if not path.is_file():
        raise GenreError(
            f"{printable(path)}: not found; data.local_path must hold FMA's fma_metadata/ "
            "(unzipped fma_metadata.zip) beside fma_<subset>/"
        )
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [row for row, _ in zip(csv.reader(f), range(3), strict=False)]
    except (UnicodeDecodeError, csv.Error) as err:
        raise GenreError(
            f"{printable(path)}: is not a CSV text table ({err}): use FMA's own tracks.csv"
        ) from None
    if len(rows) < 3 or not rows[2] or rows[2][0] != "track_id":
        raise GenreError(
            f"{printable(path)}: does not start with FMA's header (two rows of column names, "
            "then a row `track_id`): use FMA's own tracks.csv"
        )
    return rows


def _checked_ids(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Track ids as 6 digits (tracks.csv writes 2 for 000002); GenreError for a row whose id
    is not a number of at most 6 digits, or an id listed twice."""
    ids = table["track_id"].str.strip()
    bad = ~ids.str.fullmatch(r"\d{1,6}")
    if bad.any():
        raise GenreError(
            f"{printable(path)}: row {int(bad.to_numpy().argmax()) + 4} has track id "
            f"{ids[bad].iloc[0]!r}, not a number of at most 6 digits: use FMA's own tracks.csv"
        )
    table = table.assign(track_id=ids.str.zfill(6))
    twice = table["track_id"][table["track_id"].duplicated()]
    if len(twice):
        raise GenreError(
            f"{printable(path)}: lists track {twice.iloc[0]} twice: use FMA's own tracks.csv"
        )
    return table


def plan(tracks: pd.DataFrame, *, subset: str, genres: tuple[str, ...] | None) -> Plan:
    """Sort out the tracks of `subset` (and of the smaller subsets it holds): the ones to
    import, of `genres` only if given (data.genres), and the ones skipped, with why."""
    rank = {name: i for i, name in enumerate(SUBSETS)}
    mine = tracks[tracks["subset"].map(rank).le(rank[subset])]
    names = {g: genre_name(g) for g in mine["genre_top"].unique() if g}
    _check_names(names)
    result = Plan(subset)
    for track_id, fma_genre, side in zip(
        mine["track_id"], mine["genre_top"], mine["split"], strict=True
    ):
        name = clip_name(track_id, subset)
        result.listed.add(name)
        genre = names.get(fma_genre)
        if track_id in errata():
            result.skipped.append((name, errata()[track_id]))
        elif not fma_genre:
            result.skipped.append((name, NO_GENRE))
        elif genre is None:
            result.skipped.append(
                (name, f"its top-level genre {fma_genre!r} makes no genre name ({GENRE_NAME_RULE})")
            )
        elif genres is not None and genre not in genres:
            result.left_out[genre] = result.left_out.get(genre, 0) + 1
        else:
            result.wanted[name] = (track_id, genre, SPLITS.get(side, ""))
    _check_selection(result, genres, names=names, subset=subset)
    return result


def _check_names(names: dict[str, str | None]) -> None:
    """Refuse two FMA genres that make one genre name: their tracks would be merged."""
    seen: dict[str, str] = {}
    for fma_genre, name in sorted(names.items()):
        if name in seen:
            raise GenreError(
                f"tracks.csv: top-level genres {seen[name]!r} and {fma_genre!r} both make the "
                f"genre name {name}: use FMA's own tracks.csv"
            )
        if name:
            seen[name] = fma_genre


def _check_selection(
    result: Plan, genres: tuple[str, ...] | None, *, names: dict, subset: str
) -> None:
    """GenreError for a data.genres genre that is no top-level genre of the subset."""
    found = genre_list(n for n in names.values() if n)
    missing = [g for g in genres or () if g not in found]
    if missing:
        raise GenreError(
            f"data.genres: {missing[0]} is not a top-level genre of fma_{subset} (its genres: "
            f"{', '.join(found) or 'none'}): remove it from data.genres"
        )


def import_planned(
    result: Plan,
    names: list[str],
    root: Path,
    out_dir: Path,
    *,
    sample_rate: int,
    max_seconds: float,
) -> Imported:
    """Decode the planned clips found among `names` (files relative to root, e.g. from a walk
    of root/fma_<subset> or an archive's list) into out_dir's layout; list every other file
    and every planned clip not found."""
    skipped = list(result.skipped)
    found = set()
    for name in sorted(names):
        if name in result.wanted:
            found.add(name)
        elif name not in result.listed:  # a listed track's file was sorted out by plan
            inside = name.removeprefix(f"fma_{result.subset}/")
            reason = NOT_LISTED if CLIP_FILE.fullmatch(inside) else NOT_A_CLIP
            skipped.append((printable(name), reason))
    skipped += [(name, MISSING) for name in sorted(set(result.wanted) - found)]
    clips = []
    for name in found:
        track_id, genre, _ = result.wanted[name]
        clips.append(Clip(f"{genre}.{track_id}", genre, root / name))
    clips.sort(key=lambda clip: clip.track_id)
    imported = local.import_clips(
        clips, out_dir, sample_rate=sample_rate, root=root, max_seconds=max_seconds
    )
    imported.skipped = skipped + imported.skipped
    imported.left_out = dict(result.left_out)
    sides = {f"{genre}.{track_id}": side for track_id, genre, side in result.wanted.values()}
    imported.official = {t: sides[t] for t in imported.notes}
    return imported


def import_local(
    root: str | Path,
    out_dir: Path,
    *,
    subset: str,
    genres: tuple[str, ...] | None,
    sample_rate: int,
    max_seconds: float,
) -> Imported:
    """Import the FMA folder root (fma_metadata/ and fma_<subset>/, unzipped), its MP3s read
    in place."""
    root = Path(root)
    if not root.is_dir():
        raise GenreError(
            f"{printable(root)}: folder not found; data.local_path must name a folder holding "
            f"FMA's fma_metadata/ and fma_{subset}/ (unzipped)"
        )
    tracks = read_tracks(root / TRACKS_CSV)
    folder = root / f"fma_{subset}"
    if not folder.is_dir():
        others = sorted(p.name for p in root.glob("fma_*") if p.is_dir() and p.name[4:] in SUBSETS)
        hint = f" (found {', '.join(others)}: set data.fma_subset to match)" if others else ""
        raise GenreError(
            f"{printable(folder)}: folder not found{hint}; unzip fma_{subset}.zip into "
            f"{printable(root)}, or set data.fma_subset to the subset you have"
        )
    result = plan(tracks, subset=subset, genres=genres)
    files, links = local._visible_files(folder)
    imported = import_planned(
        result,
        [p.relative_to(root).as_posix() for p in files],
        root,
        out_dir,
        sample_rate=sample_rate,
        max_seconds=max_seconds,
    )
    linked = [(printable(p.relative_to(root).as_posix()), local.FOLDER_LINK) for p in links]
    imported.skipped = linked + imported.skipped
    return imported


def download_tracks(cache_dir: Path) -> pd.DataFrame:
    """tracks.csv from fma_metadata.zip (downloaded, or the cached copy), extracted alone."""
    archive = remote.fetch(METADATA.url, known_hash=METADATA.known_hash, cache_dir=cache_dir)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix="extract-") as tmp:
        try:
            remote.extract(
                archive, Path(tmp), limits=METADATA_LIMITS, keep=lambda n: n == TRACKS_CSV
            )
        except remote.ExtractionFailed:
            raise
        except GenreError as err:
            archive.unlink(missing_ok=True)
            raise GenreError(
                f"{METADATA.url} refused: {str(err).replace(printable(archive), 'the archive')}"
                "; the cached copy was deleted, run again to download it afresh"
            ) from None
        try:
            return read_tracks(Path(tmp) / TRACKS_CSV)
        except GenreError as err:
            raise GenreError(str(err).replace(tmp, f"{archive}:")) from None


def import_download(
    out_dir: Path,
    *,
    subset: str,
    genres: tuple[str, ...] | None,
    sample_rate: int,
    max_seconds: float,
    cache_dir: Path | None = None,
) -> Imported:
    """Download (or reuse) fma_metadata.zip and fma_<subset>.zip; extract tracks.csv and the
    clips to import only; import them."""
    cache_dir = Path(cache_dir) if cache_dir else remote.default_cache_dir()
    cache_dir.mkdir(parents=True, exist_ok=True)
    result = plan(download_tracks(cache_dir), subset=subset, genres=genres)
    names: list[str] = []

    def keep(name: str) -> bool:  # every member is seen here: the others are listed
        names.append(name)
        return name in result.wanted

    def importer(root: Path) -> Imported:
        return import_planned(
            result, names, root, out_dir, sample_rate=sample_rate, max_seconds=max_seconds
        )

    return remote.import_mirrors(
        (AUDIO[subset],),
        out_dir,
        sample_rate=sample_rate,
        limits=LIMITS[subset],
        cache_dir=cache_dir,
        keep=keep,
        importer=importer,
    )
