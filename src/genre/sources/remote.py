"""Downloading and safely extracting the GTZAN archives (full, and mirdata's 100-clip mini).

Downloads go through pooch, which checks the md5 and keeps the archive in a cache folder
outside the project (`pooch.os_cache("genre")`, e.g. ~/.cache/genre; override with the
GENRE_CACHE_DIR environment variable), so `dvc repro` after a params change does not
download again and data/raw (a DVC output) holds only the clips.
"""

import os
import stat
import sys
import tarfile
import tempfile
import zipfile
import zlib
from gzip import BadGzipFile
from pathlib import Path, PurePosixPath, PureWindowsPath

import pooch

from genre.errors import GenreError
from genre.sources.local import Imported, import_folder

GTZAN_URL = "http://opihi.cs.uvic.ca/sound/genres.tar.gz"
GTZAN_MD5 = "5b3d6dddb579ab49814ab86dba69e7c7"
GTZAN_MINI_URL = "https://github.com/TempoBeatDownbeat/gtzan_mini/archive/refs/heads/main.zip"
GTZAN_MINI_MD5 = "44f7f23af8363d96c59663a987f29a4c"
CACHE_ENV = "GENRE_CACHE_DIR"
OFFLINE_HINT = "set data.source to synthetic, or to local with data.local_path, in params.yaml"


def default_cache_dir() -> Path:
    """Where archives are kept between runs: $GENRE_CACHE_DIR or the OS cache folder."""
    return Path(os.environ.get(CACHE_ENV) or pooch.os_cache("genre"))


def fetch(url: str, *, known_hash: str, cache_dir: Path) -> Path:
    """Download url into cache_dir (or reuse the cached copy) and check its md5.

    known_hash is an md5 hex digest. A mismatch deletes the cached file, so that running
    again downloads it afresh.
    """
    import requests  # pooch's own dependency; imported here to keep module import light

    cache_dir = Path(cache_dir)
    fname = pooch.utils.unique_file_name(url)
    try:
        return Path(
            pooch.retrieve(
                url,
                known_hash=f"md5:{known_hash}",
                fname=fname,
                path=cache_dir,
                progressbar=sys.stderr.isatty(),
            )
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


def extract(archive: Path, dest: Path) -> None:
    """Extract a .zip or tar(.gz) archive into dest after checking every member is safe."""
    archive, dest = Path(archive), Path(dest)
    try:
        if archive.name.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    check_zip_member(info)
                bad = zf.testzip()
                if bad is not None:
                    raise zipfile.BadZipFile(f"bad CRC for {bad}")
                zf.extractall(dest)
        else:
            with tarfile.open(archive, "r:*") as tf:
                members = tf.getmembers()
                for member in members:
                    check_tar_member(member)
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
