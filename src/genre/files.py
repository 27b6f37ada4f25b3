"""File helpers: atomic writes, so a failed or killed stage never leaves a half-written output
where the next stage would read it, and no temporary file behind for long."""

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from genre.errors import GenreError

# Temporaries are named `.<name>.<pid>.<random>[.tmp[.<ext>]]` beside their output, so a later
# run can tell whose they are: `sweep_stale` removes those whose process is gone (SIGKILL).
_TEMP = re.compile(
    r"^(?:(?P<pid>\d+)\.)?(?P<rand>[A-Za-z0-9_]+)(?P<tmp>\.tmp(?:\.[A-Za-z0-9]+)?)?$"
)
_RANDOM_LEN = 8  # tempfile's random part, in names made before pids were added
_RUN_STARTED = time.time()
CSV_CHUNK = 8192  # rows of a text-only table parsed at a time (see read_csv)


@contextlib.contextmanager
def atomic_path(path: str | Path, *, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it into place only if the block succeeds.

    The temporary is removed whatever ends the block (an error, Ctrl-C, SIGTERM via run_cli);
    stale ones a killed run left beside `path` are swept first. `suffix` is kept at the end of
    the temporary's name for writers that look at it (Keras wants `.keras`).
    """
    path = Path(path)
    _check_parent(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder where an output file belongs", str(path))
    sweep_stale(path)
    with _naming(path.parent, path.parent):  # cannot write there: name the folder
        fd, tmp = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=f".tmp{suffix}"
        )
    os.close(fd)
    tmp = Path(tmp)
    try:
        with _naming(tmp, path):
            yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside `path`; it replaces `path` only on success.

    The old folder is renamed aside, the new one renamed in, then the old one removed, so at no
    moment is `path` half-written. Temporaries are removed on any error or interruption."""
    path = Path(path)
    _check_parent(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(
            errno.ENOTDIR, "is a file where an output folder belongs", str(path)
        )
    sweep_stale(path)
    pid = os.getpid()
    with _naming(path.parent, path.parent):  # cannot write there: name the folder
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.{pid}."))
    old = path.with_name(f".{path.name}.{pid}.old")
    try:
        with _naming(tmp, path):
            yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _naming(tmp: Path, path: Path) -> Iterator[None]:
    """An OSError in the block (disk full, ...) names the output, not the temporary (or
    nothing: a write error often carries no file name)."""
    try:
        yield
    except OSError as err:
        where = str(path)
        if tmp == path and err.filename is not None:  # the folder itself: keep the name
            where = str(path)
        elif isinstance(err.filename, str) and err.filename.startswith(str(tmp)):
            where = str(path) + err.filename[len(str(tmp)) :]
        elif err.filename is not None:
            raise
        raise OSError(err.errno, err.strerror or str(err), where) from None


def sweep_stale(path: str | Path) -> list[Path]:
    """Remove the temporaries of `path` (see atomic_path/atomic_dir) that a killed run left.

    One is stale when the process named in it is gone (or its pid now belongs to a process that
    started after the temporary was written); one without a pid (older code) when it predates
    this run. Temporaries of live runs in the same folder are left alone. Returns what went.
    """
    path = Path(path)
    prefix = f".{path.name}."
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    legacy = re.compile(rf"^\.{re.escape(path.stem)}\.(?P<pid>\d+)\.tmp{re.escape(path.suffix)}$")
    for entry in entries:
        if entry.name.startswith(prefix):
            match = _TEMP.match(entry.name[len(prefix) :])
        else:  # models.save's former `.<stem>.<pid>.tmp.keras`
            match = legacy.match(entry.name) if path.suffix else None
        if not match or not _is_stale(match, entry):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def _is_stale(match: re.Match, entry: os.DirEntry) -> bool:
    try:
        written = entry.stat(follow_symlinks=False).st_mtime
    except OSError:
        return False
    if match["pid"] is None:  # made before pids were in the name
        return len(match["rand"]) == _RANDOM_LEN and written < _RUN_STARTED
    pid = int(match["pid"])
    if pid == os.getpid():
        return False
    started = _process_start(pid)
    return started is None or started > written + 1.0


def _process_start(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch), or None when there is none."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return 0.0  # alive, start unknown: never stale


def _check_parent(path: Path) -> None:
    """Create the output's folder; a file in the way is an error naming it."""
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "is a file where a folder belongs", str(parent))
    path.parent.mkdir(parents=True, exist_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def write_json(data: object, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


def read_csv(
    path: str | Path, *, columns: list[str], made_by: str, text: bool = False
) -> pd.DataFrame:
    """Read a stage's CSV output, checking it exists and has the expected columns.

    text=True: every column is text, read CSV_CHUNK rows at a time (with no types to infer,
    the chunks agree), so the parser's objects never outgrow a chunk (split.csv at scale)."""
    path = Path(path)
    if not path.is_file():
        raise GenreError(f"{path} is missing: run `dvc repro {made_by}` first")
    try:
        if text:
            with pd.read_csv(path, dtype=str, chunksize=CSV_CHUNK) as chunks:
                df = pd.concat(chunks, ignore_index=True)
        else:
            df = pd.read_csv(path, dtype={"track_id": str, "clip_id": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise GenreError(f"{path} is unreadable ({err}): run `dvc repro {made_by}`") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise GenreError(f"{path} lacks columns {missing}: it is stale, run `dvc repro {made_by}`")
    return df


def check_ids(frame: pd.DataFrame, *, path: Path, column: str, what: str, made_by: str) -> None:
    """Refuse a stage's table that lists no row, a row without its `column` id, or an id
    twice: one line naming the file and the `dvc repro` that remakes it."""
    fix = f"run `dvc repro {made_by}`"
    if frame.empty:
        raise GenreError(f"{path} lists no {what}s: {fix}")
    if frame[column].isna().any():
        raise GenreError(f"{path} has rows without {column}: {fix}")
    repeated = frame[column][frame[column].duplicated()]
    if not repeated.empty:
        raise GenreError(f"{path} lists {what} {repeated.iloc[0]} twice: {fix}")


def md5sum(path: str | Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
