"""One error type for bad input, and the wrapper that turns it into one clear line."""

import sys
from collections.abc import Callable


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
