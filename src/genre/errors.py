"""One error type for bad input, and the wrapper that turns any failure into one clear line.

`run_cli` runs every stage and command: a GenreError, an OS error, Ctrl-C, SIGTERM and even a bug
each end as ONE line on stderr and a non-zero exit code, never a traceback. A command started
with Ctrl-C ignored keeps ignoring it, as Unix programs do.
"""

import contextlib
import errno
import os
import signal
import sys
from collections.abc import Callable, Iterator

EXIT_ERROR = 1
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130, as a shell reports Ctrl-C
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143
DEBUG_ENV = "GENRE_DEBUG"  # set to 1 to get the traceback of an unexpected error
MAX_MESSAGE = 1000  # characters of a message printed: whatever a message quotes, one short line

# errno -> what to do about it
OS_ADVICE = {
    errno.EACCES: "check its permissions (ls -l) or run where you may write",
    errno.EPERM: "check its permissions (ls -l) or run where you may write",
    errno.ENOENT: "check that the path exists (run from the project folder)",
    errno.EISDIR: "it is a folder where a file belongs: move or remove the folder",
    errno.ENOTDIR: "a part of the path is a file where a folder belongs: move or remove it",
    errno.EEXIST: "something is already there: move or remove it",
    errno.ENOSPC: "the disk is full: free some space and rerun",
    errno.EDQUOT: "the disk quota is used up: free some space and rerun",
    errno.EROFS: "the file system is read-only: run from a writable copy of the project",
    errno.ENAMETOOLONG: "shorten the path",
    errno.EMFILE: "too many open files: raise `ulimit -n` and rerun",
}


class GenreError(Exception):
    """Bad input or state the user can fix: the message names the thing and what to do."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so `finally` blocks (atomic writes) clean up."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) under run_cli. Not KeyboardInterrupt itself: CPython marks a plain
    KeyboardInterrupt that leaves an exec() or eval() of text (namedtuple and dataclass
    creation do that, so any import) as unhandled, even once caught, and then ends the process
    by SIGINT after our clean exit 130 (Modules/main.c, Python/pythonrun.c: run_eval_code_obj
    compares the exception's type to KeyboardInterrupt exactly)."""


def describe_os_error(err: OSError) -> str:
    """`<path>: <what went wrong>: <what to do>` for an operating-system error."""
    where = " -> ".join(
        printable(f) for f in (err.filename, err.filename2) if f is not None and f != ""
    )
    what = (err.strerror or str(err) or type(err).__name__).rstrip(".")
    advice = OS_ADVICE.get(err.errno, "check the path and rerun")
    return f"{where}: {what}: {advice}" if where else f"{what}: {advice}"


# Control characters (C0, DEL, C1) and Unicode's line and paragraph separators, escaped as
# Python writes them: a name with a newline or an escape sequence stays on its one line.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_CONTROLS |= {ord("\n"): "\\n", ord("\t"): "\\t", ord("\r"): "\\r"}
_CONTROLS |= {0x2028: "\\u2028", 0x2029: "\\u2029"}


def printable(path: object) -> str:
    """A path as text any terminal prints on one line: bytes that are not UTF-8 shown as
    \\xNN, control characters escaped (newline as \\n, tab as \\t, ESC as \\x1b)."""
    if isinstance(path, bytes):
        text = path.decode("utf-8", "backslashreplace")
    else:
        text = os.fspath(path) if isinstance(path, os.PathLike) else str(path)
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text.translate(_CONTROLS)


def restore_hint() -> str:
    """Under `dvc repro` (DVC sets DVC_STAGE and DVC_ROOT for a stage's command), DVC removed
    the stage's previous outputs before running it: the command that brings them back.
    `dvc checkout <stage>` restores the cached ones; the `cache: false` ones (small metric
    files, tracked by git) come back with `git checkout -- <them>`."""
    stage = os.environ.get("DVC_STAGE")
    if not stage:
        return ""
    command = f"dvc checkout {stage}"
    uncached = _uncached_outs(stage, os.environ.get("DVC_ROOT", "."))
    if uncached:
        command += " && git checkout -- " + " ".join(uncached)
    return (
        f" (dvc removed the previous outputs of stage {stage} before running it; "
        f"`{command}` restores them)"
    )


def _uncached_outs(stage: str, root: str) -> list[str]:
    """The `cache: false` outs of `stage` as dvc.yaml names them (DVC fills `${vars}`),
    [] when that cannot be read."""
    try:
        from dvc.repo import Repo

        with Repo(root) as repo:
            (found,) = repo.stage.collect(stage)
            return [out.def_path for out in found.outs if not out.use_cache]
    except Exception:  # noqa: BLE001 - a hint must never hide the error it comes with
        return []


def _one_line(text: str) -> str:
    """Whitespace (newlines too) as single spaces, cut to MAX_MESSAGE characters."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def _raise_terminated(signum, frame) -> None:
    raise Terminated


def _raise_interrupted(signum, frame) -> None:
    raise Interrupted


def run_cli(main: Callable[[], object]) -> None:
    """Run a stage or command: every failure becomes `error: <message>` and a non-zero exit."""
    handlers = {signal.SIGTERM: _raise_terminated}
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # ignored at start: stays so
        handlers[signal.SIGINT] = _raise_interrupted
    previous = {}
    with contextlib.suppress(ValueError):  # not the main thread: leave the signals alone
        for signum, handler in handlers.items():
            previous[signum] = signal.signal(signum, handler)
    try:
        _run(main)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _run(main: Callable[[], object]) -> None:
    try:
        main()
    except GenreError as err:
        _fail(str(err), EXIT_ERROR)
    except OSError as err:
        _fail(describe_os_error(err), EXIT_ERROR)
    except MemoryError:
        _fail("out of memory: use a smaller data set or a bigger machine", EXIT_ERROR)
    except Terminated:
        _fail("terminated (SIGTERM): stopped, no temporary files left", EXIT_TERMINATED)
    except KeyboardInterrupt:
        _fail("interrupted (Ctrl-C): stopped, no temporary files left", EXIT_INTERRUPTED)
    except Exception as err:  # noqa: BLE001 - a bug still gets one line, not a traceback
        if os.environ.get(DEBUG_ENV):
            raise
        _fail(
            f"unexpected {type(err).__name__}: {_said(err)}: this is a bug, please report it "
            f"(rerun with {DEBUG_ENV}=1 for the traceback)",
            EXIT_ERROR,
        )


def _said(err: Exception) -> str:
    """What an unexpected exception says, cut short (a library may quote a whole array)."""
    try:
        text = str(err)
    except Exception:  # noqa: BLE001 - its own __str__ failed: the type still says something
        return "(no message)"
    return text if len(text) <= MAX_MESSAGE // 2 else text[: MAX_MESSAGE // 2 - 3] + "..."


def _fail(message: str, code: int) -> None:
    prefix = "error" if code == EXIT_ERROR else "stopped"
    line = f"{prefix}: {printable(_one_line(message))}{restore_hint()}"
    with contextlib.suppress(OSError, ValueError):  # stderr closed: the exit code still says it
        sys.stdout.flush()
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)
    sys.exit(code)


@contextlib.contextmanager
def native_stderr_hidden() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the block: C libraries (TensorFlow's start-up
    notes, libsndfile's MP3 decoder) write there directly, past Python's sys.stderr."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
