"""The `genre` command: `genre predict SONG...`, `genre listen CLIP_ID...` and `genre serve`."""

import argparse
import importlib

from genre.errors import GenreError, run_cli

# subcommand -> module with add_arguments(parser) and run(args)
COMMANDS = {
    "predict": ("genre.app.predict", "print the top 3 genres of your own audio files"),
    "listen": ("genre.app.listen", "write chosen augmented clips as WAV files to listen to"),
    "serve": ("genre.app.serve", "a web page that tells the genre of an uploaded song"),
}


def check_option(flag: str, value: float, *, high: float, unit: str) -> float:
    """A number option: above 0 and at most `high` (so never nan or inf); GenreError naming it."""
    if not 0 < value <= high:  # false for nan and inf too
        what = "above 0" if value <= 0 else f"{unit}, at most {high:g}"
        raise GenreError(f"{flag} {value:g}: must be {what}")
    return value


def main(argv: list[str] | None = None) -> None:
    """Parse and run a subcommand; everything, imports included, under run_cli (one line per
    failure, never a traceback). argparse's own usage errors exit with code 2."""
    run_cli(lambda: _main(argv))


def _main(argv: list[str] | None) -> None:
    parser = argparse.ArgumentParser(prog="genre", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(module=module_name)
        importlib.import_module(module_name).add_arguments(sub)
    args = parser.parse_args(argv)
    importlib.import_module(args.module).run(args)


if __name__ == "__main__":
    main()
