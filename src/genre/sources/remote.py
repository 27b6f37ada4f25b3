"""Downloading and safely extracting the GTZAN archives (full, and mirdata's 100-clip mini).

Downloads go through pooch, which keeps the archive in a cache folder outside the project
(`pooch.os_cache("genre")`, e.g. ~/.cache/genre; override with the GENRE_CACHE_DIR environment
variable), so `dvc repro` after a params change does not download again and data/raw (a DVC
output) holds only the clips. An interrupted transfer leaves nothing in the cache (pooch writes
to a temporary file) and is restarted from scratch.

Full GTZAN comes from a list of mirrors tried in order. The original host is gone since 2022 and
the Hugging Face copy is a repack (WAV instead of AU, macOS `._*` entries), so no archive
checksum can vouch for every mirror: the AUDIO is checked instead (10 genres x 100 clips, each
22050 Hz mono with exactly the samples of GTZAN's track), plus the md5 where it is known.
"""

import hashlib
import os
import re
import stat
import sys
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from gzip import BadGzipFile
from importlib import resources
from pathlib import Path, PurePosixPath, PureWindowsPath

import pandas as pd
import pooch
import soundfile as sf
from tqdm import tqdm

from genre.errors import GenreError
from genre.sources.local import Imported, import_folder

GTZAN_URL = "http://opihi.cs.uvic.ca/sound/genres.tar.gz"  # the original host, dead since 2022
GTZAN_MD5 = "5b3d6dddb579ab49814ab86dba69e7c7"
GTZAN_HF_URL = "https://huggingface.co/datasets/marsyas/gtzan/resolve/main/data/genres.tar.gz"
GTZAN_IA_URL = "https://archive.org/download/gtzan_genre/genres.tar.gz"
GTZAN_RATE = 22050  # every GTZAN clip is 22050 Hz mono
GTZAN_LENGTHS_CSV = "resources/gtzan_lengths.csv"  # track_id, samples (Kaggle's `length`)
KAGGLE_HINT = (
    "download the Kaggle copy (kaggle.com/datasets/andradaolteanu/gtzan-dataset-music-genre-"
    "classification), then set data.source: local and data.local_path to its genres_original "
    "folder in params.yaml"
)
GTZAN_MINI_URL = "https://github.com/TempoBeatDownbeat/gtzan_mini/archive/refs/heads/main.zip"
GTZAN_MINI_MD5 = "44f7f23af8363d96c59663a987f29a4c"
CACHE_ENV = "GENRE_CACHE_DIR"
OFFLINE_HINT = "set data.source to synthetic, or to local with data.local_path, in params.yaml"
RETRIES = 2  # restarts of an interrupted transfer
CHUNK = 1 << 20
GTZAN_MEMBER = re.compile(r"(?:^|/)(?P<genre>[a-z]+)/(?P=genre)\.\d{5}\.(?:au|wav)$")


@dataclass(frozen=True)
class Mirror:
    """One place an archive can be downloaded from; md5 where the exact archive is known."""

    url: str
    md5: str | None = None


GTZAN_MIRRORS = (Mirror(GTZAN_HF_URL), Mirror(GTZAN_IA_URL), Mirror(GTZAN_URL, GTZAN_MD5))
GTZAN_MINI_MIRRORS = (Mirror(GTZAN_MINI_URL, GTZAN_MINI_MD5),)


@cache
def gtzan_lengths() -> dict[str, int]:
    """GTZAN's 1000 track ids -> samples of the clip at 22050 Hz (the shipped resource)."""
    with resources.files("genre").joinpath(GTZAN_LENGTHS_CSV).open() as f:
        table = pd.read_csv(f)
    return dict(zip(table["track_id"], table["samples"].astype(int), strict=True))


def default_cache_dir() -> Path:
    """Where archives are kept between runs: $GENRE_CACHE_DIR or the OS cache folder."""
    return Path(os.environ.get(CACHE_ENV) or pooch.os_cache("genre"))


def fetch(url: str, *, known_hash: str | None, cache_dir: Path) -> Path:
    """Download url into cache_dir (or reuse the cached copy) and check its md5.

    known_hash is an md5 hex digest, or None where the archive is checked by its content. A
    mismatch deletes the cached file, so that running again downloads it afresh. A transfer
    cut short is restarted from scratch up to RETRIES times.
    """
    import requests  # pooch's own dependency; imported here to keep module import light

    cache_dir = Path(cache_dir)
    fname = pooch.utils.unique_file_name(url)
    downloader = pooch.HTTPDownloader(progressbar=sys.stderr.isatty(), chunk_size=CHUNK)
    try:
        for attempt in range(RETRIES + 1):
            try:
                return Path(
                    pooch.retrieve(
                        url,
                        known_hash=known_hash and f"md5:{known_hash}",
                        fname=fname,
                        path=cache_dir,
                        downloader=downloader,
                    )
                )
            except requests.exceptions.ChunkedEncodingError as err:
                if attempt == RETRIES:
                    raise
                tqdm.write(
                    f"download of {url} interrupted ({_request_reason(err)}); "
                    f"restarting it (attempt {attempt + 2} of {RETRIES + 1})",
                    file=sys.stderr,
                )
    except requests.RequestException as err:
        raise GenreError(
            f"cannot download {url} ({_request_reason(err)}); to work offline, {OFFLINE_HINT}"
        ) from None
    except ValueError as err:
        if "hash" not in str(err).lower():
            raise
        (cache_dir / fname).unlink(missing_ok=True)
        raise GenreError(
            f"the download of {url} is corrupt (its md5 is not {known_hash}); "
            "the cached copy was deleted, run again to download it afresh"
        ) from None
    except OSError as err:
        raise GenreError(
            f"cannot store the download in {cache_dir} ({err.strerror or err}); "
            f"set {CACHE_ENV} to a writable folder"
        ) from None


def _request_reason(err: Exception) -> str:
    """A short reason for a failed request: the HTTP status or the kind of network error."""
    response = getattr(err, "response", None)
    if response is not None:
        return f"HTTP {response.status_code} {response.reason}"
    return type(err).__name__.replace("Error", " error").strip().lower()


def _unsafe_name(name: str) -> str | None:
    """Why an archive member name could land outside the target folder, or None if safe."""
    if (
        PurePosixPath(name).is_absolute()
        or PureWindowsPath(name).is_absolute()
        or PureWindowsPath(name).drive
    ):
        return "has an absolute path"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return "points outside the folder (..)"
    return None


def check_tar_member(member: tarfile.TarInfo) -> None:
    """Refuse a member that escapes the folder, is a link, or is a device file/FIFO."""
    reason = _unsafe_name(member.name)
    if member.issym() or member.islnk():
        reason = f"is a link (to {member.linkname})"
    elif member.ischr() or member.isblk() or member.isfifo():
        reason = "is a device file or FIFO"
    elif not (member.isfile() or member.isdir()) and reason is None:
        reason = "is not a regular file or folder"
    if reason:
        raise GenreError(
            f"unsafe archive member {member.name!r}: it {reason}; refusing to extract the archive"
        )


def check_zip_member(info: zipfile.ZipInfo) -> None:
    """Refuse a member that escapes the folder, or is a symlink/device file/FIFO (Unix mode)."""
    reason = _unsafe_name(info.filename)
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        reason = "is a link"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        reason = "is a device file or FIFO"
    if reason:
        raise GenreError(
            f"unsafe archive member {info.filename!r}: it {reason}; refusing to extract the archive"
        )


def is_gtzan_clip(name: str) -> bool:
    """A `<genre>/<genre>.<NNNNN>.au|wav` member (not a macOS `._*` entry, not a list file)."""
    return GTZAN_MEMBER.search(name) is not None


def extract(archive: Path, dest: Path, *, keep: Callable[[str], bool] | None = None) -> None:
    """Extract a .zip or tar(.gz) archive into dest after checking every member is safe.

    keep, if given, picks the members to extract by name (all are checked for safety)."""
    archive, dest = Path(archive), Path(dest)
    try:
        if archive.name.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                infos = zf.infolist()
                for info in infos:
                    check_zip_member(info)
                bad = zf.testzip()
                if bad is not None:
                    raise zipfile.BadZipFile(f"bad CRC for {bad}")
                zf.extractall(dest, members=[i for i in infos if keep is None or keep(i.filename)])
        else:
            with tarfile.open(archive, "r:*") as tf:
                members = tf.getmembers()
                for member in members:
                    check_tar_member(member)
                if keep is not None:
                    members = [m for m in members if m.isfile() and keep(m.name)]
                tf.extractall(dest, members=members, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, BadGzipFile, EOFError, zlib.error) as err:
        raise GenreError(
            f"{archive}: the archive is truncated or corrupt ({err}); delete it and run again"
        ) from None
    except OSError as err:
        raise GenreError(
            f"cannot extract {archive} into {dest} ({err.strerror or err}); "
            "check the free disk space there"
        ) from None


def import_archive(
    url: str, out_dir: Path, *, known_hash: str, sample_rate: int, cache_dir: Path | None = None
) -> Imported:
    """Download (or reuse) an archive of GTZAN-named clips, extract it, write data/raw's layout.

    The archive is extracted into a temporary folder in the cache, removed afterwards.
    """
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    archive = fetch(url, known_hash=known_hash, cache_dir=cache_dir)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix="extract-") as tmp:
        extract(archive, Path(tmp))
        try:
            return import_folder(tmp, out_dir, sample_rate=sample_rate)
        except GenreError as err:  # name the file inside the archive, not the temporary copy
            raise GenreError(str(err).replace(tmp, str(archive))) from None


def sha256sum(path: Path) -> str:
    """The sha256 of a file, read in chunks (the full archive is 1.2 GB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_gtzan_content(folder: Path, *, expected: Mapping[str, int] | None = None) -> None:
    """Check an extracted GTZAN: exactly the expected clips, each decoding to 22050 Hz mono
    with exactly its track's number of samples. Raises GenreError saying what failed.

    expected maps track id -> samples; the default is GTZAN's 1000 tracks (the resource)."""
    expected = gtzan_lengths() if expected is None else expected
    found = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and is_gtzan_clip(path.relative_to(folder).as_posix()):
            found.setdefault(path.name.rsplit(".", 1)[0], path)
    genres = sorted({t.split(".")[0] for t in expected})
    missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if missing or extra:
        what = "; ".join(
            f"{label} {len(ids)} ({', '.join(ids[:3])}{', ...' if len(ids) > 3 else ''})"
            for label, ids in (("missing", missing), ("unexpected", extra))
            if ids
        )
        raise GenreError(
            f"expected {len(expected)} clips in {len(genres)} genres, found {len(found)}: {what}"
        )
    for track_id, path in tqdm(found.items(), desc="check clips", unit="clip", disable=None):
        try:
            info = sf.info(path)
            frames = len(sf.read(path, dtype="int16", always_2d=True)[0])
        except (sf.LibsndfileError, RuntimeError, ValueError, EOFError) as err:
            raise GenreError(f"{track_id} is not readable audio ({err})") from None
        if info.samplerate != GTZAN_RATE or info.channels != 1:
            raise GenreError(
                f"{track_id} is {info.samplerate} Hz with {info.channels} channel(s), "
                f"not {GTZAN_RATE} Hz mono"
            )
        if frames != expected[track_id]:
            raise GenreError(
                f"{track_id} has {frames} samples, GTZAN's track has {expected[track_id]}"
            )


def import_mirrors(
    mirrors: tuple[Mirror, ...],
    out_dir: Path,
    *,
    sample_rate: int,
    cache_dir: Path | None = None,
    expected: Mapping[str, int] | None = None,
) -> Imported:
    """Import the first mirror that downloads and passes the checks; say why others failed.

    With `expected` (track id -> samples; see check_gtzan_content) only the clip members are
    extracted and the audio is checked; the mirror's md5, where known, is checked too. A
    refused mirror's cached archive is deleted. Imported.origin names the URL and sha256 used.
    """
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    failures = []
    for mirror in mirrors:
        try:
            archive = fetch(mirror.url, known_hash=mirror.md5, cache_dir=cache_dir)
        except GenreError as err:
            failures.append(str(err).split("; to work offline")[0].split("; the cached")[0])
            tqdm.write(f"mirror failed: {failures[-1]}; trying the next", file=sys.stderr)
            continue
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix="extract-") as tmp:
            try:
                if expected is not None:
                    extract(archive, Path(tmp), keep=is_gtzan_clip)
                    check_gtzan_content(Path(tmp), expected=expected)
                else:
                    extract(archive, Path(tmp))
            except GenreError as err:
                archive.unlink(missing_ok=True)
                reason = str(err).replace(str(archive), "the archive").replace(tmp, "")
                failures.append(f"{mirror.url} refused: {reason}")
                tqdm.write(f"mirror failed: {failures[-1]}; trying the next", file=sys.stderr)
                continue
            try:
                imported = import_folder(tmp, out_dir, sample_rate=sample_rate)
            except GenreError as err:  # name the file inside the archive, not the temporary copy
                raise GenreError(str(err).replace(tmp, str(archive))) from None
        imported.origin = f"{mirror.url} (sha256 {sha256sum(archive)})"
        return imported
    hint = KAGGLE_HINT if expected is not None else OFFLINE_HINT
    raise GenreError(f"no mirror worked ({' | '.join(failures)}); {hint}")
