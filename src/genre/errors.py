"""One error type for bad input, and the wrapper that turns it into one clear line."""

import contextlib
import os
import sys
from collections.abc import Callable, Iterator


class GenreError(Exception):
    """Bad input or state the user can fix: the message names the thing and what to do."""


def run_cli(main: Callable[[], object]) -> None:
    """Run a stage or command; a GenreError becomes `error: <message>` and exit code 1."""
    try:
        main()
    except GenreError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


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
