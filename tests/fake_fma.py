"""A fabricated Free Music Archive: FMA's folder layout, its tracks.csv format and its archives,
holding a few short MP3 clips per genre, for tests and benchmarks (no real download).

`write_fma(root)` writes root/fma_metadata/tracks.csv (FMA's 52 columns under its two header
rows and the `track_id` row, a multi-line quoted field as in FMA's artist bios) and
root/fma_<subset>/NNN/NNNNNN.mp3 (MP3 through libsndfile, 44.1 kHz stereo like FMA's clips).
With `extras` it adds what a real copy holds beside the clips of the subset: a track of a larger
subset (listed, no file here), a track without a top-level genre, FMA's erratum 099134 (an
empty file), a README.txt and a checksums file. `zip_fma` packs it as FMA's host serves it
(fma_metadata.zip, fma_<subset>.zip, bzip2-compressed members).

Not a test module (no `test_` prefix): tests import it as `from fake_fma import write_fma`;
benchmarks put tests/ on sys.path first.
"""

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

# tracks.csv's columns, in FMA's order: group -> its columns
GROUPS = {
    "album": "comments date_created date_released engineer favorites id information listens "
    "producer tags title tracks type",
    "artist": "active_year_begin active_year_end associated_labels bio comments date_created "
    "favorites id latitude location longitude members name related_projects tags website "
    "wikipedia_page",
    "set": "split subset",
    "track": "bit_rate comments composer date_created date_recorded duration favorites genre_top "
    "genres genres_all information interest language_code license listens lyricist number "
    "publisher tags title",
}
COLUMNS = [(group, column) for group, names in GROUPS.items() for column in names.split()]
GENRES = ("Hip-Hop", "Old-Time / Historic", "Soul-RnB")  # FMA names that need mapping
NAMES = {"Hip-Hop": "hip-hop", "Old-Time / Historic": "old-time-historic", "Soul-RnB": "soul-rnb"}
SPLIT_CYCLE = ("training",) * 4 + ("validation", "test")  # per genre, track after track
ERRATUM = "099134"  # FMA's known empty clip (resources/fma_errata.csv)
NO_GENRE = "000777"  # a track of the subset without a top-level genre
BIGGER = "155001"  # a track of a larger subset only (listed in tracks.csv, no file here)


@dataclass
class FakeFMA:
    """What write_fma wrote: the folder, the subset, and every track listed in tracks.csv
    (track_id as 6 digits, genre_top, split, subset: FMA's words)."""

    root: Path
    subset: str
    tracks: pd.DataFrame

    def clips(self) -> pd.DataFrame:
        """The tracks that become clips: of the subset, with a genre, not an erratum."""
        t = self.tracks
        mine = t["subset"].isin(("small",) if self.subset == "small" else ("small", self.subset))
        return t[mine & (t["genre_top"] != "") & (t["track_id"] != ERRATUM)]


def track_ids(n_genres: int, per_genre: int) -> list[list[str]]:
    """Track ids per genre, spread over several NNN folders (FMA's start at 000002)."""
    return [[f"{2 + 1000 * n + 7 * g:06d}" for n in range(per_genre)] for g in range(n_genres)]


def clip(genre_index: int, track: int, *, seconds: float, sample_rate: int) -> np.ndarray:
    """A stereo clip that sounds like its genre (pulse rate, pitch and brightness grow with
    the genre's index), different for every track. Shape (frames, 2), float32."""
    rng = np.random.default_rng([genre_index, track])
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    f0 = 110 * 2 ** ((5 * genre_index + rng.integers(0, 3)) / 12)
    rate = 2 + 3 * genre_index + rng.uniform(-0.3, 0.3)
    envelope = np.exp(-6 * ((t * rate) % 1))
    tone = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 2 + 2 * genre_index))
    noise = 0.05 * genre_index * rng.standard_normal(len(t))
    y = 0.3 * envelope * tone / (1 + genre_index) + noise + 0.005 * rng.standard_normal(len(t))
    return np.stack([y, np.roll(y, 11)], axis=1).astype("float32")


def write_fma(
    root: str | Path,
    *,
    subset: str = "small",
    genres: tuple[str, ...] = GENRES,
    per_genre: int = 6,
    seconds: float = 2.0,
    sample_rate: int = 44100,
    extras: bool = True,
) -> FakeFMA:
    """Write a fabricated FMA of `subset` under root (see the module); its FakeFMA."""
    root = Path(root)
    rows = []
    for g, ids in enumerate(track_ids(len(genres), per_genre)):
        for n, track_id in enumerate(ids):
            split = SPLIT_CYCLE[n % len(SPLIT_CYCLE)]
            rows.append((track_id, genres[g], split, "small", g, n))
    if extras:
        rows += [
            (ERRATUM, genres[0], "training", "small", None, None),
            (NO_GENRE, "", "training", "small", 0, 99),
            (BIGGER, genres[0], "test", "large", 0, 98),
        ]
    for track_id, _, _, track_subset, g, n in rows:
        in_subset = track_subset == "small" or track_subset == subset
        if not in_subset:
            continue
        path = root / f"fma_{subset}" / track_id[:3] / f"{track_id}.mp3"
        path.parent.mkdir(parents=True, exist_ok=True)
        if g is None:
            path.write_bytes(b"")  # FMA's errata: clips with no audio at all
        else:
            audio = clip(g, n, seconds=seconds, sample_rate=sample_rate)
            sf.write(path, audio, sample_rate, format="MP3")
    if extras:
        (root / f"fma_{subset}" / "README.txt").write_text("A fabricated FMA subset.\n")
        (root / f"fma_{subset}" / "checksums").write_text("")
    tracks = pd.DataFrame(
        [r[:4] for r in rows], columns=["track_id", "genre_top", "split", "subset"]
    )
    write_tracks_csv(root / "fma_metadata" / "tracks.csv", tracks)
    return FakeFMA(root, subset, tracks)


def write_tracks_csv(path: Path, tracks: pd.DataFrame) -> Path:
    """tracks.csv in FMA's format: the 52 columns under two header rows, the index-name row
    `track_id`, ids without padding (2, not 000002), other fields plausible or empty."""
    table = pd.DataFrame(
        "",
        index=pd.Index(tracks["track_id"].astype(int), name="track_id"),
        columns=pd.MultiIndex.from_tuples(COLUMNS),
    )
    table[("set", "split")] = tracks["split"].to_numpy()
    table[("set", "subset")] = tracks["subset"].to_numpy()
    table[("track", "genre_top")] = tracks["genre_top"].to_numpy()
    table[("track", "title")] = [f"Song {t}" for t in tracks["track_id"]]
    table[("track", "genres")] = "[21]"
    table[("track", "duration")] = "30"
    table[("artist", "bio")] = "<p>Formed in a garage,\nstill there.</p>"  # quoted newline
    table[("album", "tags")] = "[]"
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path)
    return path


def zip_fma(fake: FakeFMA, folder: str | Path) -> tuple[Path, Path]:
    """fma_metadata.zip and fma_<subset>.zip of a fabricated FMA, written into folder as FMA's
    host serves them (bzip2 members, folder entries, a README in the metadata)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    metadata = folder / "fma_metadata.zip"
    with zipfile.ZipFile(metadata, "w", zipfile.ZIP_BZIP2) as zf:
        zf.writestr("fma_metadata/README.txt", "A fabricated FMA's metadata.\n")
        zf.write(fake.root / "fma_metadata" / "tracks.csv", "fma_metadata/tracks.csv")
        zf.writestr("fma_metadata/genres.csv", "genre_id,#tracks,parent,title,top_level\n")
    audio = folder / f"fma_{fake.subset}.zip"
    base = fake.root / f"fma_{fake.subset}"
    with zipfile.ZipFile(audio, "w", zipfile.ZIP_BZIP2) as zf:
        for path in sorted(base.rglob("*")):
            zf.write(path, path.relative_to(fake.root).as_posix())
    return metadata, audio


def sha1(path: Path) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()
