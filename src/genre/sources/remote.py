"""Downloading and safely extracting the data sets' archives (GTZAN, mini GTZAN, FMA's).

Downloads go to a cache outside the project (GENRE_CACHE_DIR, else ~/.cache/genre), resume where
a cut transfer stopped (HTTP Range), and take their place only once checked against their
published hash. GTZAN's mirrors are checked by their audio instead, since its repacks differ. An
archive is extracted within its data set's Limits (docs/data.md); any failure to read one is an
ArchiveError, and the next mirror is tried.
"""

import bz2
import contextlib
import gzip
import hashlib
import lzma
import os
import re
import stat
import struct
import sys
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, partial
from importlib import resources
from pathlib import Path, PurePosixPath, PureWindowsPath

import pandas as pd
import pooch
import soundfile as sf
from tqdm import tqdm

from genre.errors import GenreError, printable
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
RETRIES = 2  # resumptions in a row that receive nothing before a transfer is given up
MAX_RESUMES = 100  # resumptions of one transfer in one run, even when each one progresses
RETRY_WAIT_S = 1.0  # wait before resuming, times the resumptions in a row without progress
TIMEOUT_S = (30, 60)  # connect, and read (between two chunks of the body)
PARTIAL_SUFFIX = ".part"  # <archive>.part: the bytes received so far
VALIDATOR_SUFFIX = ".part.etag"  # the ETag (or Last-Modified) those bytes came with
CHUNK = 1 << 20
DOWNLOAD_CHUNK = 1 << 16  # bytes read at a time: a transfer cut short loses less than this
GTZAN_MEMBER = re.compile(r"(?:^|/)(?P<genre>[a-z]+)/(?P=genre)\.\d{5}\.(?:au|wav)\Z")
TAR_HEADER_BYTES = 8 * tarfile.BLOCKSIZE  # per member: its header, a pax or long-name header,
# padding; the stream may run that far past the members' declared sizes
ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
ZIP_UNREADABLE_FLAGS = {  # flag bit -> what a member with it is
    0x1: "an encrypted member",
    0x20: "a member of compressed patched data",
    0x40: "a strongly encrypted member",
}
# What reading a hostile archive can raise (from the sources of tarfile, zipfile, gzip, bz2,
# zlib and lzma in Python 3.11); all of it means the archive cannot be used.
ARCHIVE_ERRORS = (
    tarfile.TarError,  # tar headers: ReadError (incl. zlib errors), CompressionError, ...
    zipfile.BadZipFile,  # zip structure, names that differ, bad CRC-32
    zipfile.LargeZipFile,
    EOFError,  # gzip, bz2 and zip streams ending early
    zlib.error,  # deflate data of a zip member
    lzma.LZMAError,  # LZMA data of a zip member
    OSError,  # gzip's BadGzipFile, bz2's "Invalid data stream", a read that fails
    RuntimeError,  # zip: an encrypted member ("password required", "Bad password")
    NotImplementedError,  # zip: compression method, strong encryption, zip version
    ValueError,  # tar: pax numbers and hdrcharset (int(), UnicodeDecodeError); zip UTF-8 names
    IndexError,  # tar: an old GNU sparse header cut short
    OverflowError,  # tar: offsets past 2**63 from forged sizes
    struct.error,  # zip records
)


@dataclass(frozen=True)
class Limits:
    """What one data set's archive may hold; beyond it, the archive is not that data set (a zip
    or tar bomb, a sparse member, another file) and is refused. Each source passes its own."""

    total_bytes: int  # all members together: declared sizes, and bytes written
    member_bytes: int  # one extracted member
    members: int  # entries in the archive


# GTZAN: 1000 clips of at most 675808 16-bit samples (1.35 MB), 1.32 GB in all; the Hugging
# Face repack adds a 4 KB `._` entry per clip, the original a few .mf lists
GTZAN_LIMITS = Limits(total_bytes=1_500_000_000, member_bytes=2_000_000, members=5_000)
# mirdata's mini GTZAN: 100 of those clips (132.5 MB), a README and its lists
GTZAN_MINI_LIMITS = Limits(total_bytes=160_000_000, member_bytes=2_000_000, members=1_000)


class ArchiveError(GenreError):
    """The archive itself cannot be used (unsafe, corrupt, unreadable, beyond its Limits)."""


class ExtractionFailed(GenreError):
    """Extracting failed on this machine (disk full, permissions): not the archive's fault."""


@dataclass(frozen=True)
class Mirror:
    """One place an archive can be downloaded from; its md5 or sha1 where the exact archive
    is known (published)."""

    url: str
    md5: str | None = None
    sha1: str | None = None

    @property
    def known_hash(self) -> str | None:
        """The hash `fetch` checks, as pooch writes it ("sha1:<hex>"), or None."""
        if self.sha1:
            return f"sha1:{self.sha1}"
        return self.md5 and f"md5:{self.md5}"


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
    """Download url into cache_dir (or reuse the cached copy) and check its hash.

    known_hash is an md5 hex digest, "sha1:<hex>" (or "md5:<hex>"), or None where the archive
    is checked by its content. A mismatch deletes the cached file, so that running again
    downloads it afresh. A transfer cut short is resumed where it stopped (ResumingDownloader).
    """
    import requests  # pooch's own dependency; imported here to keep module import light

    cache_dir = Path(cache_dir)
    fname = pooch.utils.unique_file_name(url)
    if known_hash and ":" not in known_hash:
        known_hash = f"md5:{known_hash}"
    algorithm, _, digest = (known_hash or "").partition(":")
    downloader = ResumingDownloader(cache_dir / fname, progressbar=sys.stderr.isatty())
    try:
        return Path(
            pooch.retrieve(
                url, known_hash=known_hash, fname=fname, path=cache_dir, downloader=downloader
            )
        )
    except requests.RequestException as err:
        kept = downloader.kept()
        resume = f"; {kept} kept in {cache_dir}, run again to resume" if kept else ""
        raise GenreError(
            f"cannot download {url} ({_request_reason(err)}){resume}; to work offline, "
            f"{OFFLINE_HINT}"
        ) from None
    except ValueError as err:
        if "hash" not in str(err).lower():
            raise
        (cache_dir / fname).unlink(missing_ok=True)
        raise GenreError(
            f"the download of {url} is corrupt (its {algorithm} is not {digest}); "
            "the cached copy was deleted, run again to download it afresh"
        ) from None
    except OSError as err:
        raise GenreError(
            f"cannot store the download in {cache_dir} ({err.strerror or err}); "
            f"set {CACHE_ENV} to a writable folder"
        ) from None


class ResumingDownloader:
    """A pooch downloader that resumes: the bytes received go to `<target>.part` (kept after a
    failure), an interrupted transfer asks for the rest (HTTP Range, If-Range on the ETag or
    Last-Modified the first bytes came with), and the complete file is handed to pooch, which
    checks its hash before it takes the target's place.

    Resumes straight away after an interruption that received bytes; RETRIES times in a row
    (waiting RETRY_WAIT_S, 2 x RETRY_WAIT_S, ...) when nothing arrives; at most MAX_RESUMES
    times in all. A server that answers a Range request with the whole file (200) restarts it.
    """

    def __init__(self, target: Path, *, progressbar: bool = False):
        self.answered = False  # the last request was answered (2xx): bytes may follow
        self.part = Path(f"{target}{PARTIAL_SUFFIX}")
        self.validator = Path(f"{target}{VALIDATOR_SUFFIX}")
        self.progressbar = progressbar

    def kept(self) -> str:
        """What the partial file holds, e.g. "1.2 MB", or "" when there is none."""
        size = self.part.stat().st_size if self.part.is_file() else 0
        return f"{size / 1e6:.1f} MB" if size else ""

    def __call__(self, url: str, output_file: str, pooch_object=None) -> None:
        import requests

        stalled = 0
        interrupted = (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,  # a body cut short
        )
        for resumes in range(MAX_RESUMES + 1):
            before, self.answered = self._size(), False
            try:
                self._transfer(url)
                break
            except interrupted as err:
                stalled = 0 if self._size() > before else stalled + 1
                # a server never reached, with nothing received: not an interruption
                if not (self.answered or before) or stalled > RETRIES or resumes == MAX_RESUMES:
                    raise
                self._say_resuming(url, err, stalled)
        os.replace(self.part, output_file)  # same folder: pooch's temporary file
        self.validator.unlink(missing_ok=True)

    def _say_resuming(self, url: str, err: Exception, stalled: int) -> None:
        tqdm.write(
            f"download of {url} interrupted ({_request_reason(err)}) after "
            f"{self._size() / 1e6:.1f} MB; resuming it",
            file=sys.stderr,
        )
        if stalled:
            time.sleep(RETRY_WAIT_S * stalled)

    def _size(self) -> int:
        return self.part.stat().st_size if self.part.is_file() else 0

    def _transfer(self, url: str) -> None:
        """One request: the rest of the file after the partial one (or all of it), appended."""
        import requests

        have = self._size()
        headers = {"Accept-Encoding": "identity"}  # byte offsets of the file itself
        if have:
            headers["Range"] = f"bytes={have}-"
            if self.validator.is_file():
                headers["If-Range"] = self.validator.read_text()
        with requests.get(url, headers=headers, stream=True, timeout=TIMEOUT_S) as response:
            if response.status_code == 416 and have:  # nothing after `have`: done, or changed
                if _range_total(response) == have:
                    return
                self._discard()
                return self._transfer(url)
            response.raise_for_status()
            self.answered = True
            resumed = response.status_code == 206
            if resumed and _range_start(response) != have:  # not the part asked for
                self._discard()
                return self._transfer(url)
            if not resumed:  # the whole file (Range ignored, or the file changed)
                self._discard()
                validator = _validator(response)
                if validator:
                    self.validator.write_text(validator)
            total = _range_total(response) if resumed else None
            total = total or int(response.headers.get("Content-Length") or 0) or None
            with (
                self.part.open("ab" if resumed else "wb") as out,
                tqdm(
                    total=total,
                    initial=have if resumed else 0,
                    unit="B",
                    unit_scale=True,
                    disable=not self.progressbar,
                    leave=False,
                ) as progress,
            ):
                for chunk in response.iter_content(DOWNLOAD_CHUNK):
                    out.write(chunk)
                    progress.update(len(chunk))

    def _discard(self) -> None:
        self.part.unlink(missing_ok=True)
        self.validator.unlink(missing_ok=True)


def _validator(response) -> str | None:
    """What If-Range may name to get the rest of this very file: a strong ETag, or else the
    Last-Modified date (a weak ETag, W/"...", is not allowed there)."""
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return response.headers.get("Last-Modified")


def _range_start(response) -> int | None:
    """The first byte a 206 response holds (its Content-Range), or None."""
    match = re.match(r"bytes (\d+)-\d+/(?:\d+|\*)", response.headers.get("Content-Range", ""))
    return int(match[1]) if match else None


def _range_total(response) -> int | None:
    """The full size a Content-Range gives ("bytes 0-9/100" or "bytes */100"), or None."""
    match = re.search(r"/(\d+)$", response.headers.get("Content-Range", ""))
    return int(match[1]) if match else None


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
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts:
        return "points outside the folder (..)"
    if not parts:
        return "has no name"
    return None


def _refuse(name: str, reason: str) -> ArchiveError:
    return ArchiveError(
        f"unsafe archive member '{printable(name)}': it {reason}; refusing to extract the archive"
    )


def check_tar_member(member: tarfile.TarInfo) -> None:
    """Refuse a member that escapes the folder, is a link, or is a device file/FIFO."""
    reason = _unsafe_name(member.name)
    if member.issym() or member.islnk():
        reason = f"is a link (to {printable(member.linkname)})"
    elif member.ischr() or member.isblk() or member.isfifo():
        reason = "is a device file or FIFO"
    elif not (member.isfile() or member.isdir()) and reason is None:
        reason = "is not a regular file or folder"
    if reason:
        raise _refuse(member.name, reason)


def check_zip_member(info: zipfile.ZipInfo) -> None:
    """Refuse a member that escapes the folder, or is a symlink/device file/FIFO (Unix mode)."""
    reason = _unsafe_name(info.filename)
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        reason = "is a link"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        reason = "is a device file or FIFO"
    if reason:
        raise _refuse(info.filename, reason)


def is_gtzan_clip(name: str) -> bool:
    """A `<genre>/<genre>.<NNNNN>.au|wav` member (not a macOS `._*` entry, not a list file)."""
    return GTZAN_MEMBER.search(name) is not None


def extract(
    archive: Path, dest: Path, *, limits: Limits, keep: Callable[[str], bool] | None = None
) -> None:
    """Extract a .zip or tar (plain, gzip or bzip2) archive into dest, within `limits`, after
    checking every member is safe (nothing is written before that).

    keep, if given, picks the members to extract by name (all are checked for safety and
    count in limits.total_bytes). ArchiveError for an archive that cannot be used,
    ExtractionFailed when dest cannot take it."""
    archive, dest = Path(archive), Path(dest)
    with _writing(archive, dest):
        dest.mkdir(parents=True, exist_ok=True)
    try:
        if archive.name.lower().endswith(".zip"):
            _extract_zip(archive, dest, limits=limits, keep=keep)
        else:
            _extract_tar(archive, dest, limits=limits, keep=keep)
    except ARCHIVE_ERRORS as err:
        text = str(err).strip() or type(err).__name__
        if isinstance(err, (ValueError, IndexError, OverflowError, struct.error)):
            text = f"a malformed header: {text}"  # Python's own errors, from deep inside
        what = "is truncated or corrupt"
        if isinstance(err, RuntimeError) and "password" in text:
            what = "holds an encrypted member"
        elif isinstance(err, NotImplementedError):
            what = "uses a zip feature that cannot be read"
        elif isinstance(err, tarfile.CompressionError):
            what = "is compressed in a way that cannot be read"
        raise ArchiveError(
            f"{printable(archive)}: the archive {what} ({printable(text)}); delete it and run "
            "again, or use another copy"
        ) from None


def _too_big(archive: Path, what: str) -> ArchiveError:
    return ArchiveError(
        f"{printable(archive)}: refusing the archive: {what}, more than this data set holds "
        "(a zip or tar bomb, or not the data set); delete it and run again, or use another copy"
    )


@contextlib.contextmanager
def _writing(archive: Path, dest: Path) -> Iterator[None]:
    """OSErrors of writing into dest become ExtractionFailed (the machine's problem)."""
    try:
        yield
    except OSError as err:
        raise _write_error(archive, dest, err) from None


def _write_error(archive: Path, dest: Path, err: OSError) -> ExtractionFailed:
    return ExtractionFailed(
        f"cannot extract {printable(archive)} into {printable(dest)} "
        f"({err.strerror or err}); check the free disk space there"
    )


def _extract_zip(archive: Path, dest: Path, *, limits: Limits, keep) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        if len(infos) > limits.members:
            raise _too_big(archive, f"it lists {len(infos):,} entries")
        for info in infos:
            check_zip_member(info)
        kept = [i for i in infos if not i.is_dir() and (keep is None or keep(i.filename))]
        for info in kept:
            _check_zip_readable(archive, info, limits=limits)
        if sum(i.file_size for i in infos) > limits.total_bytes:
            raise _too_big(archive, f"its members hold more than {limits.total_bytes:,} bytes")
        written = 0
        for info in kept:
            with zf.open(info) as source:
                written += _copy(source, archive, dest, info.filename, limits, written)


def _check_zip_readable(archive: Path, info: zipfile.ZipInfo, *, limits: Limits) -> None:
    """Refuse, before extracting anything, a member too big, encrypted or in a compression
    method zipfile cannot read."""
    name = printable(info.filename)
    if info.file_size > limits.member_bytes:
        raise _too_big(archive, f"member '{name}' is {info.file_size:,} bytes")
    flags = [what for bit, what in ZIP_UNREADABLE_FLAGS.items() if info.flag_bits & bit]
    if flags:
        raise ArchiveError(
            f"{printable(archive)}: the archive holds {flags[0]} '{name}', which cannot be "
            "read; use another copy"
        )
    if info.compress_type not in ZIP_METHODS:
        raise ArchiveError(
            f"{printable(archive)}: the archive's member '{name}' uses compression method "
            f"{info.compress_type}, which cannot be read (only stored, deflate, bzip2, lzma); "
            "use another copy"
        )


def _extract_tar(archive: Path, dest: Path, *, limits: Limits, keep) -> None:
    """Two passes over the decompressed stream: list and check every member (reading no
    further than the sizes declared so far allow), then extract the kept ones."""
    bound = limits.total_bytes + limits.members * TAR_HEADER_BYTES + tarfile.RECORDSIZE
    with _tar_stream(archive) as raw:
        stream = _Bounded(raw, archive=archive, limit=bound)
        with tarfile.open(fileobj=stream, mode="r:") as tf:
            members, declared = [], 0
            while (member := tf.next()) is not None:
                if len(members) >= limits.members:
                    raise _too_big(archive, f"it lists more than {limits.members:,} entries")
                check_tar_member(member)
                if member.size < 0:
                    raise tarfile.HeaderError(f"member {member.name!r} has a negative size")
                kept = member.isfile() and (keep is None or keep(member.name))
                if kept and member.size > limits.member_bytes:
                    name = printable(member.name)
                    raise _too_big(archive, f"member '{name}' is {member.size:,} bytes")
                declared += member.size
                if declared > limits.total_bytes:
                    raise _too_big(
                        archive, f"its members hold more than {limits.total_bytes:,} bytes"
                    )
                if kept:
                    members.append(member)
            written = 0
            for member in members:
                with tf.extractfile(member) as source:
                    written += _copy(source, archive, dest, member.name, limits, written)


@contextlib.contextmanager
def _tar_stream(archive: Path) -> Iterator:
    """The archive's tar data, decompressed by its first bytes: gzip, bzip2 or none. xz is
    refused: its header may claim a 1.5 GB dictionary, and no mirror uses it."""
    with open(archive, "rb") as f:
        magic = f.read(6)
    if magic.startswith(b"\xfd7zXZ\x00"):
        raise tarfile.CompressionError("xz-compressed tar archives are not read")
    openers = {b"\x1f\x8b": gzip.open, b"BZh": bz2.open}
    opener = next((o for start, o in openers.items() if magic.startswith(start)), open)
    with opener(archive, "rb") as stream:
        yield stream


class _Bounded:
    """A tar stream that refuses to go past `limit` bytes, or to read more than CHUNK at once:
    tarfile reads a pax or long-name header whole, whatever size its header claims."""

    def __init__(self, raw, *, archive: Path, limit: int):
        self.raw, self.archive, self.limit = raw, archive, limit

    def read(self, size: int | None = -1) -> bytes:
        size = -1 if size is None else size
        if size < 0 or size > CHUNK:
            raise _too_big(self.archive, f"a tar header of {size:,} bytes")
        if self.raw.tell() + size > self.limit:
            raise _too_big(self.archive, f"its tar stream runs past {self.limit:,} bytes")
        return self.raw.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET and offset > self.limit:
            raise _too_big(self.archive, f"its tar stream runs past {self.limit:,} bytes")
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()


def _copy(source, archive: Path, dest: Path, name: str, limits: Limits, written: int) -> int:
    """Write one member (read from source) under dest; the bytes written. Counted as written,
    whatever the member declared: ArchiveError past limits.member_bytes or limits.total_bytes
    (with `written` bytes of earlier members)."""
    target = dest.joinpath(*PurePosixPath(name.replace("\\", "/")).parts)
    budget = min(limits.member_bytes, limits.total_bytes - written)
    count = 0
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        out = open(target, "wb")  # noqa: SIM115 - closed below; its errors are the member's
    except (FileExistsError, NotADirectoryError, IsADirectoryError):
        raise ArchiveError(
            f"{printable(archive)}: the archive's member '{printable(name)}' clashes with "
            "another member (a file and a folder of one name); use another copy"
        ) from None
    except OSError as err:
        raise _write_error(archive, dest, err) from None
    with out:
        while chunk := source.read(CHUNK):
            count += len(chunk)
            if count > budget:
                raise _too_big(archive, f"member '{printable(name)}' expands past {budget:,} bytes")
            with _writing(archive, dest):
                out.write(chunk)
    return count


def import_archive(
    url: str,
    out_dir: Path,
    *,
    known_hash: str,
    sample_rate: int,
    limits: Limits,
    cache_dir: Path | None = None,
) -> Imported:
    """Download (or reuse) an archive of GTZAN-named clips, extract it (within limits), write
    data/raw's layout.

    The archive is extracted into a temporary folder in the cache, removed afterwards.
    """
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    archive = fetch(url, known_hash=known_hash, cache_dir=cache_dir)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix="extract-") as tmp:
        extract(archive, Path(tmp), limits=limits)
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
        _check_gtzan_clip(path, track_id=track_id, samples=expected[track_id])


def _check_gtzan_clip(path: Path, *, track_id: str, samples: int) -> None:
    """One clip: its header first (a header claiming 4 GB is refused unread), then its
    samples, reading no more than `samples` + 1 of them."""
    unreadable = (sf.LibsndfileError, RuntimeError, ValueError, EOFError)
    try:
        info = sf.info(path)
    except unreadable as err:
        raise GenreError(f"{track_id} is not readable audio ({err})") from None
    if info.samplerate != GTZAN_RATE or info.channels != 1:
        raise GenreError(
            f"{track_id} is {info.samplerate} Hz with {info.channels} channel(s), "
            f"not {GTZAN_RATE} Hz mono"
        )
    frames = info.frames
    if frames == samples:
        try:
            frames = len(sf.read(path, frames=samples + 1, dtype="int16", always_2d=True)[0])
        except unreadable as err:
            raise GenreError(f"{track_id} is not readable audio ({err})") from None
    if frames != samples:
        raise GenreError(f"{track_id} has {frames} samples, GTZAN's track has {samples}")


def import_mirrors(
    mirrors: tuple[Mirror, ...],
    out_dir: Path,
    *,
    sample_rate: int,
    limits: Limits,
    cache_dir: Path | None = None,
    expected: Mapping[str, int] | None = None,
    keep: Callable[[str], bool] | None = None,
    importer: Callable[[Path], Imported] | None = None,
) -> Imported:
    """Import the first mirror that downloads and passes the checks; say why others failed.

    Each archive is extracted within `limits` (the data set's). With `expected` (track id ->
    samples; see check_gtzan_content) only the clip members are extracted and the audio is
    checked; else `keep` picks the members to extract (default: all). The mirror's md5 or
    sha1, where known, is checked too. `importer(folder)` writes data/raw's layout from the
    extracted folder (default: GTZAN-named clips, import_folder). A refused mirror's cached
    archive is deleted; a failure of this machine (ExtractionFailed: disk full) stops, keeping
    it. Imported.origin names the URL and the hash used.
    """
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    if importer is None:
        importer = partial(import_folder, out_dir=out_dir, sample_rate=sample_rate)
    failures = []
    for mirror in mirrors:
        try:
            archive = fetch(mirror.url, known_hash=mirror.known_hash, cache_dir=cache_dir)
        except GenreError as err:
            failures.append(str(err).split("; to work offline")[0].split("; the cached")[0])
            tqdm.write(f"mirror failed: {failures[-1]}; trying the next", file=sys.stderr)
            continue
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix="extract-") as tmp:
            try:
                if expected is not None:
                    extract(archive, Path(tmp), limits=limits, keep=is_gtzan_clip)
                    check_gtzan_content(Path(tmp), expected=expected)
                else:
                    extract(archive, Path(tmp), limits=limits, keep=keep)
            except ExtractionFailed:
                raise
            except GenreError as err:
                archive.unlink(missing_ok=True)
                reason = str(err).replace(printable(archive), "the archive")
                reason = reason.replace(printable(tmp), "")
                failures.append(f"{mirror.url} refused: {reason}")
                tqdm.write(f"mirror failed: {failures[-1]}; trying the next", file=sys.stderr)
                continue
            try:
                imported = importer(Path(tmp))
            except GenreError as err:  # name the file inside the archive, not the temporary copy
                raise GenreError(str(err).replace(tmp, str(archive))) from None
        imported.origin = f"{mirror.url} ({origin_hash(archive, mirror)})"
        return imported
    hint = KAGGLE_HINT if expected is not None else OFFLINE_HINT
    raise GenreError(f"no mirror worked ({' | '.join(failures)}); {hint}")


def origin_hash(archive: Path, mirror: Mirror) -> str:
    """The hash that identifies the archive used: the published sha1 it was checked against
    (hashing a 93 GiB archive again would take minutes), else its sha256."""
    if mirror.sha1:
        return f"sha1 {mirror.sha1}, as published"
    return f"sha256 {sha256sum(archive)}"
