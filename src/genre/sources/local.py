"""Clips from a folder in GTZAN's layout, converted into data/raw's layout.

Shared by every real source: `local` reads a folder the user names, `gtzan` and `gtzan-mini`
read the folder their archive extracts to. Clips are found by name, `<genre>.<NNNNN>.wav|au`,
anywhere under the folder, so GTZAN's `genres/`, Kaggle's `genres_original/` and mirdata's
`gtzan_mini-main/genres/` all work without knowing their nesting.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from genre import GENRES, audio
from genre.errors import GenreError

AUDIO_SUFFIXES = (".wav", ".au")
CLIP_NAME = re.compile(r"^(?P<genre>[a-z]+)\.(?P<number>\d{5})\.(?:wav|au)$", re.IGNORECASE)
EXPECTED = "<genre>/<genre>.<NNNNN>.wav (or .au)"


@dataclass(frozen=True)
class Clip:
    """One source clip: its GTZAN id (e.g. 'blues.00000'), genre and file."""

    track_id: str
    genre: str
    path: Path


@dataclass
class Imported:
    """What `import_clips` wrote: notes per written clip (track_id -> note) and skipped files."""

    notes: dict[str, str] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source path, reason)


def _visible_files(root: Path) -> list[Path]:
    """All files under root, sorted, leaving out hidden files/folders and macOS `__MACOSX`."""
    found = []
    for path in root.rglob("*"):
        parts = path.relative_to(root).parts
        if any(p.startswith(".") or p == "__MACOSX" for p in parts):
            continue
        if path.is_file():
            found.append(path)
    return sorted(found)


def find_clips(root: str | Path) -> tuple[list[Clip], list[tuple[str, str]]]:
    """Find `<genre>.<NNNNN>.wav|au` clips anywhere under root.

    Returns the clips (sorted by track id) and the audio files skipped for their name. Raises
    GenreError for a missing folder, a folder with no clips, a clip of an unknown genre, or
    two files claiming the same track id.
    """
    root = Path(root)
    if not root.is_dir():
        raise GenreError(
            f"{root}: folder not found; data.local_path must name a folder laid out {EXPECTED}"
        )
    clips: dict[str, Clip] = {}
    skipped = []
    for path in _visible_files(root):
        if path.suffix.lower() not in AUDIO_SUFFIXES:
            continue
        rel = path.relative_to(root).as_posix()
        match = CLIP_NAME.match(path.name)
        if not match:
            skipped.append((rel, "file name is not <genre>.<NNNNN>.wav or .au"))
            continue
        genre = match["genre"].lower()
        if genre not in GENRES:
            raise GenreError(f"{path}: unknown genre {genre!r}; known genres: {', '.join(GENRES)}")
        track_id = f"{genre}.{match['number']}"
        if track_id in clips:
            raise GenreError(
                f"{path}: track {track_id} is also in {clips[track_id].path}; "
                "keep one of the two files"
            )
        clips[track_id] = Clip(track_id, genre, path)
    if not clips:
        raise GenreError(f"{root}: no audio clips found; expected files laid out {EXPECTED}")
    return [clips[k] for k in sorted(clips)], skipped


def import_clips(clips: list[Clip], out_dir: Path, *, sample_rate: int, root: Path) -> Imported:
    """Decode each clip (resample, down-mix) and write it as out_dir/<genre>/<id>.wav.

    Unreadable clips are skipped with their reason (paths relative to root), not fatal.
    """
    result = Imported()
    for clip in tqdm(clips, desc="clips", unit="clip", disable=None):
        try:
            decoded = audio.read(clip.path, sample_rate=sample_rate)
        except GenreError as err:
            reason = str(err).removeprefix(f"{clip.path}: ")
            result.skipped.append((clip.path.relative_to(root).as_posix(), reason))
            continue
        target = out_dir / clip.genre / f"{clip.track_id}.wav"
        target.parent.mkdir(parents=True, exist_ok=True)
        audio.write_wav(target, decoded.samples, sample_rate=sample_rate)
        result.notes[clip.track_id] = "; ".join(decoded.notes(sample_rate))
    return result


def import_folder(root: str | Path, out_dir: Path, *, sample_rate: int) -> Imported:
    """Find the clips under root and write them into out_dir in data/raw's layout."""
    root = Path(root)
    clips, misnamed = find_clips(root)
    result = import_clips(clips, out_dir, sample_rate=sample_rate, root=root)
    result.skipped = misnamed + result.skipped
    return result
