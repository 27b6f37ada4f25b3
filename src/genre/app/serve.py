"""`genre serve`: a web page where a person uploads (or records) a song and learns its genre.

Built on Gradio; the answer is `genre predict`'s own code path, so both give the same
probabilities. Each model set is loaded once, and again only when its files change. Bad input
gets one message on the page; uploads live in a temporary folder; a request that would make the
server fetch a URL is refused (genre.app.guard). docs/serve.md says what the page shows.
"""

import argparse
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from genre.app.predict import MAX_MINUTES, MAX_MINUTES_LIMIT
from genre.errors import GenreError, printable
from genre.models import registry
from genre.paths import MODELS_DIR, REPORT

MB = 1024 * 1024
MAX_UPLOAD_MB = 1024  # --max-mb at most: an hour of CD-quality WAV is 635 MB
UPLOAD_MAX_AGE_S = 600  # uploads older than this are deleted (checked as often)
QUEUE_SIZE = 64  # requests waiting beyond this are refused by Gradio ("queue full")
SYNTHETIC_WARNING = (
    "⚠️ **These models were trained on the synthetic default data. They will not recognise "
    "real music**: expect wrong answers for real songs. Train on real GTZAN first "
    "(`dvc exp run -S data.source=gtzan`, then `dvc exp apply <name>`): the page picks the "
    "new models up."
)
TIMELINE_COLUMNS = ["window", "start_s", "genre", "probability"]

log = logging.getLogger("genre.app.serve")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=7860, help="port (default: %(default)s)")
    parser.add_argument(
        "--max-mb", type=float, default=50.0, help="largest upload in MB (default: %(default)g)"
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=MAX_MINUTES,
        help="longest song in minutes (default: %(default)g); longer is refused",
    )
    parser.add_argument(
        "--models-dir", type=Path, default=MODELS_DIR, help="trained models (default: models/)"
    )


@dataclass(frozen=True)
class Answer:
    """What the page shows for one upload: every genre's probability (empty when refused),
    the likeliest genre per window (TIMELINE_COLUMNS), and a one-paragraph message."""

    probabilities: dict[str, float]
    timeline: list[dict]
    message: str

    @property
    def ok(self) -> bool:
        return bool(self.probabilities)


class Service:
    """The model sets (loaded once per choice, reloaded when their files change) and the
    answer to one upload. Thread-safe: Gradio calls it from worker threads."""

    def __init__(
        self,
        *,
        models_dir: Path = MODELS_DIR,
        max_bytes: int = 50 * MB,
        max_seconds: float = MAX_MINUTES * 60,
    ):
        self.models_dir = Path(models_dir)
        self.max_bytes = int(max_bytes)
        self.max_seconds = float(max_seconds)  # longest song: refused before it is decoded
        self._loaded: dict[str, tuple[tuple, object]] = {}  # choice -> (files' stamp, set)
        self._lock = threading.Lock()

    def model_set(self, choice: str):
        """The loaded model set for `choice`; GenreError saying what to run when there is none."""
        from genre.app.predict import load_model_set

        if choice not in registry.choices():
            choices = ", ".join(registry.choices())
            raise GenreError(f"unknown model {choice!r}: choose one of {choices}")
        with self._lock:
            stamp = self._stamp(choice)
            cached = self._loaded.get(choice)
            if cached is None or cached[0] != stamp:
                self._loaded.pop(choice, None)  # free the stale set before loading a new one
                self._loaded[choice] = (stamp, load_model_set(self.models_dir, choice=choice))
            return self._loaded[choice][1]

    def _stamp(self, choice: str) -> tuple:
        """Modification times of the files a choice reads: a retrained set is reloaded."""
        names = [f"{choice}.json", *(f"{a}.keras" for a in registry.names())]
        if choice != registry.ENSEMBLE:
            names = [f"{choice}.json", f"{choice}.keras"]
        paths = [self.models_dir / name for name in names]
        return tuple(p.stat().st_mtime_ns if p.exists() else None for p in paths)

    def answer(self, file: str | Path | None, choice: str = "ensemble") -> Answer:
        """Classify one uploaded file with the `choice` model set; never raises for bad input."""
        from genre.app.predict import file_error, predict_file

        if not file:
            return Answer({}, [], "Choose an audio file, drop one here, or record one.")
        path = Path(file)
        name = printable(path.name)
        try:
            model_set = self.model_set(choice)
        except GenreError as err:
            return Answer({}, [], f"**No model set to answer with yet**: {err}")
        try:
            size = path.stat().st_size if path.is_file() else None
            if size is not None and size > self.max_bytes:
                raise GenreError(
                    f"{printable(path)}: {size / MB:.1f} MB is over this server's limit of "
                    f"{self.max_bytes / MB:g} MB: upload a shorter or compressed file"
                )
            prediction = predict_file(path, model_set=model_set, max_seconds=self.max_seconds)
        except Exception as err:  # noqa: BLE001 - one bad upload never stops the page
            if not isinstance(err, (GenreError, OSError)):
                log.exception("unexpected error on %s", path)
            reason = file_error(path, err).removeprefix(f"{printable(path)}: ")
            reason = reason.replace(printable(path), name)  # the server's folders stay private
            return Answer({}, [], f"**Could not classify {name}**: {reason}")
        genres = list(prediction.genres)
        probabilities = {g: float(p) for g, p in zip(genres, prediction.probabilities, strict=True)}
        timeline = _timeline(
            prediction.window_probabilities, genres=genres, window_s=model_set.features.duration_s
        )
        (top, p), *_ = prediction.top(1)
        windows = "1 window" if prediction.windows == 1 else f"{prediction.windows} windows"
        message = f"**{name}**: most likely **{top}** ({p:.1%}; {windows}, model: {choice})"
        return Answer(probabilities, timeline, message)

    def about(self, choice: str = "ensemble") -> str:
        """Markdown: which model set answers (data, date, test scores), or what to run."""
        try:
            model_set = self.model_set(choice)
        except GenreError as err:
            return f"**No model set to answer with yet**: {err}"
        return model_set_markdown(
            model_set,
            choice=choice,
            models_dir=self.models_dir,
            report=self.models_dir.absolute().parent / REPORT,
        )


def model_set_markdown(model_set, *, choice: str, models_dir: Path, report: Path) -> str:
    """Markdown lines about a model set: data source and fingerprints, training date, weights,
    test scores with intervals, and the synthetic-data warning where it applies."""
    description = dict(model_set.description)
    data = description.get("data") or {}
    source = data.get("source") or description.get("source") or "unknown"
    where = ""
    if data.get("local_path"):
        where = f" (`{shown_folder(data['local_path'], project=models_dir.absolute().parent)}`)"
    fingerprints = ", ".join(
        f"{key.removesuffix('_md5')} md5 `{data[key][:8]}`"
        for key in ("index_md5", "split_md5")
        if data.get(key)
    )
    lines = [f"**Answering: {choice}**, trained on `{source}` data{where}"]
    if fingerprints:
        lines[0] += f" ({fingerprints})"
    trained = models_dir / f"{choice}.json"
    if not trained.is_file():
        trained = models_dir / f"{choice}.keras"
    if trained.is_file():
        when = datetime.fromtimestamp(trained.stat().st_mtime, tz=UTC)
        lines.append(f"Models dated {when:%Y-%m-%d %H:%M} UTC ({trained.name} written).")
    weights = description.get("weights")
    if choice == "ensemble" and isinstance(weights, dict):
        lines.append("Weights: " + ", ".join(f"{a} {float(w):g}" for a, w in weights.items()))
    lines.append(scores_line(report, model=choice))
    if source == "synthetic":
        lines.append(SYNTHETIC_WARNING)
    return "\n\n".join(lines)


def shown_folder(path: str, *, project: Path) -> str:
    """A folder as the page shows it: relative to the project (`../shared/gtzan-mini`) when it
    is near it, `~/...` under the home folder, else its name alone: the page never shows the
    server's own folders."""
    folder = Path(path).expanduser()
    if not folder.is_absolute():
        return printable(folder)
    relative = Path(os.path.relpath(folder, project))
    if relative.parts[:2] != ("..", ".."):
        return printable(relative)
    if folder.is_relative_to(Path.home()):
        return printable(Path("~") / folder.relative_to(Path.home()))
    return printable(f".../{folder.name}")


def scores_line(report: Path, *, model: str) -> str:
    """The test scores of `model` with their 95 % intervals from metrics/report.json; says so
    when the file or the model's entry is absent or unreadable."""
    import json

    try:
        scores = json.loads(Path(report).read_text())[model]
    except FileNotFoundError:
        return f"Test scores unknown: no {report.name} (run `dvc repro` to evaluate the models)."
    except (OSError, ValueError, KeyError, TypeError):
        return f"Test scores unknown: {report.name} has no readable entry for {model}."
    parts = []
    for subset, label in (("test", "test clips"), ("test_original", "original test clips")):
        values = scores.get(subset) if isinstance(scores, dict) else None
        if not isinstance(values, dict):
            continue
        figures = [
            _score(values, key, name)
            for key, name in (("accuracy", "accuracy"), ("macro_recall", "macro recall"))
        ]
        figures.append(_score(values, "macro_f1", "macro F1"))
        figures = [f for f in figures if f]
        if figures:
            parts.append(f"{label}: " + ", ".join(figures))
    if not parts:
        return f"Test scores unknown: {report.name} has no test scores for {model}."
    return "Test scores (95 % interval) on " + "; ".join(parts) + "."


def _score(values: dict, key: str, name: str) -> str | None:
    try:
        value = float(values[key])
    except (KeyError, TypeError, ValueError):
        return None
    interval = values.get(f"{key}_ci")
    try:
        low, high = (float(v) for v in interval)
        return f"{name} {value:.3f} [{low:.3f}, {high:.3f}]"
    except (TypeError, ValueError):
        return f"{name} {value:.3f}"


def _timeline(window_probabilities, *, genres: list[str], window_s: float) -> list[dict]:
    """One row per window: its label (mm:ss-mm:ss), start, likeliest genre and probability."""
    rows = []
    for i, probabilities in enumerate(window_probabilities):
        best = int(probabilities.argmax())
        start, end = i * window_s, (i + 1) * window_s
        rows.append(
            {
                "window": f"{_clock(start)}-{_clock(end)}",
                "start_s": start,
                "genre": genres[best],
                "probability": float(probabilities[best]),
            }
        )
    return rows


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes:02d}:{seconds:02d}"


# --- the page -------------------------------------------------------------------------------


def build_page(service: Service):
    """The Gradio page: audio in, model choice; bar chart, timeline, message, model set."""
    import gradio as gr
    import pandas as pd

    def classify(file, choice):
        answer = service.answer(file, choice)
        if not answer.ok:
            return None, None, answer.message
        timeline = pd.DataFrame(answer.timeline, columns=TIMELINE_COLUMNS)
        chart = gr.BarPlot(value=timeline, sort=list(timeline["window"]))
        return answer.probabilities, chart, answer.message

    limit = f"{service.max_bytes / MB:g} MB"
    with gr.Blocks(
        title="genre: what genre is this song?",
        analytics_enabled=False,
        delete_cache=(UPLOAD_MAX_AGE_S, UPLOAD_MAX_AGE_S),
    ) as page:
        gr.Markdown(
            "# What genre is this song?\n"
            f"Upload a song (WAV, FLAC, MP3, OGG or AU, up to {limit} and "
            f"{service.max_seconds / 60:g} minutes) or record one. Songs "
            "longer than one clip are scored window by window and the windows averaged."
        )
        with gr.Row():
            with gr.Column():
                audio = gr.Audio(
                    sources=["upload", "microphone"],
                    type="filepath",
                    label="Your song",
                    buttons=["download"],  # no "share": it would post to Hugging Face
                    elem_id="song",
                )
                choice = gr.Radio(
                    list(registry.choices()),
                    value=registry.ENSEMBLE,
                    label="Model",
                    elem_id="choice",
                )
                about = gr.Markdown(elem_id="about")
            with gr.Column():
                message = gr.Markdown(elem_id="message")
                chart = gr.Label(
                    num_top_classes=None,
                    label="Genre probabilities",
                    elem_id="probabilities",
                )
                timeline = gr.BarPlot(
                    x="window",
                    y="probability",
                    color="genre",
                    y_lim=[0, 1],
                    label="Likeliest genre per window",
                    elem_id="timeline",
                )
        gr.on(
            [audio.change, choice.change],
            classify,
            inputs=[audio, choice],
            outputs=[chart, timeline, message],
            api_name="classify",
            concurrency_limit=1,  # featurize limits BLAS threads process-wide: one at a time
        )
        gr.on([page.load, choice.change], service.about, inputs=choice, outputs=about)
    return page


# --- the command ----------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    """Serve the page until Ctrl-C (or SIGTERM); uploads live in a temporary folder."""
    from genre.app.cli import check_option

    if not 0 < args.port < 65536:
        raise GenreError(f"--port {args.port}: not a port number (1-65535)")
    check_option("--max-mb", args.max_mb, high=MAX_UPLOAD_MB, unit="a size in MB")
    check_option("--max-minutes", args.max_minutes, high=MAX_MINUTES_LIMIT, unit="minutes")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # no telemetry, no version check
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    service = Service(
        models_dir=args.models_dir,
        max_bytes=int(args.max_mb * MB),
        max_seconds=args.max_minutes * 60,
    )
    first = service.about("ensemble").split("\n\n")[0].replace("**", "").replace("`", "")
    print(f"genre serve: {first}", flush=True)
    with tempfile.TemporaryDirectory(prefix="genre-serve-") as uploads:
        os.environ["GRADIO_TEMP_DIR"] = uploads  # read by Gradio at import
        import gradio.queueing
        import gradio.route_utils
        import gradio.routes
        import gradio.utils
        from starlette.middleware import Middleware

        from genre.app.guard import NoOutsideFetches, one_line_tracebacks

        one_line_tracebacks(gradio.queueing, gradio.routes, gradio.route_utils, gradio.utils)
        page = build_page(service)
        page.queue(max_size=QUEUE_SIZE)
        try:
            page.launch(
                server_name=args.host,
                server_port=args.port,
                share=False,
                max_file_size=service.max_bytes,
                prevent_thread_lock=True,
                quiet=True,
                ssr_mode=False,
                mcp_server=False,
                enable_monitoring=False,
                footer_links=["api"],
                app_kwargs={"middleware": [Middleware(NoOutsideFetches)]},
            )
        except OSError:  # Gradio: "Cannot find empty port in range ..."
            raise GenreError(
                f"cannot listen on {args.host}:{args.port}: the port is taken (or the address "
                "is not this machine's): choose another --port (or --host)"
            ) from None
        print(f"genre serve: open http://{args.host}:{args.port} (Ctrl+C stops)", flush=True)
        try:
            while page.is_running:
                time.sleep(0.5)
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (run_cli raises it as Terminated)
            pass
        finally:
            page.close()
        print("genre serve: stopped", flush=True)
