"""Clips from a folder in GTZAN's layout (`<genre>/<genre>.<NNNNN>.wav`, found at any depth),
converted into data/raw's layout: the `local` source, and what GTZAN's archives extract to.

The genres are whatever the clips are named after. Nothing is dropped silently: every other file
under the folder is listed with the reason (hidden files and `__MACOSX` aside); a clip is decoded
up to its first MAX_CLIP_S only.
"""

import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from genre import GENRE_NAME, GENRE_NAME_RULE, audio, genre_list
from genre.errors import GenreError, printable

# every format libsndfile reads: GTZAN's .au and .wav, and FLAC, OGG, MP3, AIFF copies
AUDIO_SUFFIXES = (".wav", ".au", ".flac", ".ogg", ".mp3", ".aiff", ".aif")
CLIP_NAME = re.compile(  # whole names only (fullmatch): `$` would allow a final newline
    r"(?P<genre>.+)\.(?P<number>\d{5})\.(?:wav|au|flac|ogg|mp3|aiff|aif)", re.IGNORECASE
)
EXPECTED = "<genre>/<genre>.<NNNNN>.wav (or .au, .flac, .ogg, .mp3)"
MAX_CLIP_S = 600.0  # the longest data.duration_s (genre.params): longer clips are cut to it
NOT_AUDIO = "not an audio file name (" + ", ".join(AUDIO_SUFFIXES) + ")"
CONTROL_CHARACTER = (
    "file or folder name holds a control character (a newline, a tab, ...): rename it"
)
FOLDER_LINK = (
    "a link to a folder, not followed: copy the folder into data.local_path, or point "
    "data.local_path at it"
)
LINE_BREAKING = {"Cc", "Zl", "Zp"}  # Unicode categories: control characters, line separators


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
    origin: str = ""  # for a download: the archive used, its URL and sha256
    left_out: dict[str, int] = field(default_factory=dict)  # genre -> clips data.genres left out
    official: dict[str, str] = field(default_factory=dict)  # track_id -> the source's own split


def _visible_files(root: Path) -> tuple[list[Path], list[Path]]:
    """All files under root, sorted, and the links to folders found there (not followed),
    leaving out hidden files/folders and macOS `__MACOSX`.

    A folder that cannot be read (no permission) is refused with a GenreError naming it: a
    genre silently missing from the data would change every result."""
    found, links = [], []

    def unreadable(err: OSError) -> None:
        raise GenreError(
            f"{printable(err.filename)}: cannot read this folder ({err.strerror}): give read "
            "permission (chmod -R u+rX) or move it out of data.local_path"
        )

    for folder, dirs, files in os.walk(root, onerror=unreadable):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__MACOSX"]
        links += [Path(folder, d) for d in dirs if os.path.islink(os.path.join(folder, d))]
        found += [Path(folder, f) for f in files if not f.startswith(".")]
    return sorted(found), sorted(links)


def _has_control_character(text: str) -> bool:
    """Whether text holds a character that breaks or hides a line (newline, tab, ESC, ...)."""
    return any(unicodedata.category(c) in LINE_BREAKING for c in text)


def _utf8_name(path: Path) -> bool:
    """Whether the path's name is valid UTF-8 (Linux gives undecodable bytes as surrogates)."""
    try:
        os.fsdecode(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def find_clips(root: str | Path) -> tuple[list[Clip], list[tuple[str, str]]]:
    """Find `<genre>.<NNNNN>.wav|au|...` clips anywhere under root.

    Returns the clips (sorted by track id) and every other file, with why it is not a clip
    (paths relative to root, printable). Raises GenreError for a missing folder, a folder with
    no clips, a genre name that is not one (GENRE_NAME), or two files claiming one track id.
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise GenreError(
            f"{printable(root)}: is a file, not a folder; data.local_path must name a folder "
            f"laid out {EXPECTED}"
        )
    if not root.is_dir():
        raise GenreError(
            f"{printable(root)}: folder not found; data.local_path must name a folder laid out "
            f"{EXPECTED}"
        )
    clips: dict[str, Clip] = {}
    files, links = _visible_files(root)
    skipped = [(printable(link.relative_to(root).as_posix()), FOLDER_LINK) for link in links]
    for path in files:
        rel = path.relative_to(root).as_posix()
        reason = _not_a_clip(path, rel)
        if reason:
            skipped.append((printable(rel), reason))
            continue
        match = CLIP_NAME.fullmatch(path.name)
        genre = match["genre"].lower()
        if not GENRE_NAME.fullmatch(genre):
            usable = re.sub(r"[^a-z0-9_-]+", "-", genre).strip("-_")
            usable = usable if GENRE_NAME.fullmatch(usable) else f"genre-{usable}".strip("-")
            raise GenreError(
                f"{printable(path)}: genre name {genre!r} is not usable ({GENRE_NAME_RULE}): "
                f"rename the genre's folder and files, e.g. "
                f"{usable}/{usable}.{match['number']}{path.suffix.lower()}"
            )
        track_id = f"{genre}.{match['number']}"
        if track_id in clips:
            raise GenreError(
                f"{printable(path)}: track {track_id} is also in "
                f"{printable(clips[track_id].path)}; keep one of the two files"
            )
        clips[track_id] = Clip(track_id, genre, path)
    if not clips:
        raise GenreError(
            f"{printable(root)}: no audio clips found; expected files laid out {EXPECTED}"
        )
    return [clips[k] for k in sorted(clips)], skipped


def _not_a_clip(path: Path, rel: str) -> str | None:
    """Why a file is not a clip by its name (relative path rel), or None for a clip name."""
    if not _utf8_name(path):
        return "file or folder name is not valid UTF-8: rename it"
    if _has_control_character(rel):
        return CONTROL_CHARACTER
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        return NOT_AUDIO
    if not CLIP_NAME.fullmatch(path.name):
        return "file name is not <genre>.<NNNNN>.wav or .au"
    return None


def select_genres(
    clips: list[Clip], genres: tuple[str, ...] | None, *, root: Path
) -> tuple[list[Clip], dict[str, int]]:
    """The clips of the genres `data.genres` lists (None: all) and, per genre left out, how
    many clips. GenreError naming a listed genre that has no clip under root."""
    if genres is None:
        return clips, {}
    found = genre_list(c.genre for c in clips)
    missing = [g for g in genres if g not in found]
    if missing:
        raise GenreError(
            f"data.genres: genre {missing[0]} has no clips in {printable(root)} (its genres: "
            f"{', '.join(found)}): remove it from data.genres, or add {missing[0]}/"
            f"{missing[0]}.<NNNNN>.wav clips"
        )
    left_out: dict[str, int] = {}
    for clip in clips:
        if clip.genre not in genres:
            left_out[clip.genre] = left_out.get(clip.genre, 0) + 1
    return [c for c in clips if c.genre in genres], left_out


def import_clips(
    clips: list[Clip],
    out_dir: Path,
    *,
    sample_rate: int,
    root: Path,
    max_seconds: float = MAX_CLIP_S,
) -> Imported:
    """Decode each clip (resample, down-mix; its first max_seconds only) and write it as
    out_dir/<genre>/<id>.wav.

    Unreadable clips are skipped with their reason (paths relative to root), not fatal.
    """
    result = Imported()
    for clip in tqdm(clips, desc="clips", unit="clip", disable=None):
        try:
            decoded = audio.read(
                clip.path, sample_rate=sample_rate, max_seconds=max_seconds, crop=True
            )
        except GenreError as err:
            reason = str(err).removeprefix(f"{printable(clip.path)}: ")
            result.skipped.append((printable(clip.path.relative_to(root).as_posix()), reason))
            continue
        target = out_dir / clip.genre / f"{clip.track_id}.wav"
        target.parent.mkdir(parents=True, exist_ok=True)
        audio.write_wav(target, decoded.samples, sample_rate=sample_rate)
        result.notes[clip.track_id] = "; ".join(decoded.notes(sample_rate))
    return result


def import_folder(
    root: str | Path,
    out_dir: Path,
    *,
    sample_rate: int,
    genres: tuple[str, ...] | None = None,
    max_seconds: float = MAX_CLIP_S,
) -> Imported:
    """Find the clips under root (of `genres` only, if given: data.genres) and write them into
    out_dir in data/raw's layout, each cut to its first max_seconds."""
    root = Path(root)
    clips, misnamed = find_clips(root)
    clips, left_out = select_genres(clips, genres, root=root)
    result = import_clips(
        clips, out_dir, sample_rate=sample_rate, root=root, max_seconds=max_seconds
    )
    result.skipped = misnamed + result.skipped
    result.left_out = left_out
    return result
