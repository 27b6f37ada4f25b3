"""`genre serve`: the page's answer is `genre predict`'s (identical probabilities), every bad
upload gets one message, the server holds up under concurrent load (HTTP API, slow), and a
real browser gets a real clip's genres (headless Chromium, slow).

The models are really trained here, tiny: on synthetic signals (noise -> metal, tones ->
classical, chords -> jazz) for the fast tests and the load test, and on the 10 real GTZAN clips
of ../shared/gtzan-sample/ for the browser test, so the top genre of a training clip is known.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from genre import GENRES
from genre.app import cli
from genre.app.predict import file_error, load_model_set, predict_file
from genre.app.serve import Service, model_set_markdown, scores_line
from genre.features.extraction import song_features
from genre.features.layout import FeatureSettings
from genre.files import write_json
from genre.models import modelset
from genre.params import DataParams, FeaturizeParams, ModelParams

SR = 22050
DURATION_S = 5.0  # the tiny set's clip (and window) length
GENRE_BIN = Path(sys.executable).parent / "genre"
CHROMIUM = Path("/usr/bin/chromium")
GTZAN_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "gtzan-sample"  # as conftest
START_TIMEOUT_S = 180
LOAD_REQUESTS = 56  # >= 50, from 8 clients
LOAD_CLIENTS = 8
UPLOADED = "metal"  # the real clip the browser uploads
RSS_GROWTH_LIMIT = 400 * 2**20  # the server's memory after the load, over its warm-up level


# --- audio ----------------------------------------------------------------------------------


def noise(seconds: float, *, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(0.3 * rng.standard_normal(int(seconds * SR)), -1, 1).astype(np.float32)


def tone(seconds: float, *, hz: float = 220.0) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * hz * np.arange(int(seconds * SR)) / SR)).astype(np.float32)


def chord(seconds: float, *, root: float = 261.6) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    y = sum(np.sin(2 * np.pi * root * r * t) for r in (1, 2 ** (4 / 12), 2 ** (7 / 12), 2))
    return (0.15 * y).astype(np.float32)


def write(path: Path, samples: np.ndarray, *, subtype: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples, SR, subtype=subtype)
    return path


def good_files(folder: Path) -> list[Path]:
    """Songs of one to four windows, in three formats."""
    return [
        write(folder / "noisy.wav", noise(6, seed=7)),
        write(folder / "tone.flac", tone(12, hz=330)),
        write(folder / "medley.ogg", np.concatenate([noise(5, seed=8), tone(5), chord(10)])),
    ]


def bad_files(folder: Path) -> dict[Path, str]:
    """Bad uploads -> what their message must say."""
    folder.mkdir(parents=True, exist_ok=True)
    text = folder / "notes.mp3"
    text.write_text("not audio at all\n" * 100)
    empty = folder / "empty.wav"
    empty.write_bytes(b"")
    loud, nan = noise(6, seed=3) * 100, noise(6, seed=4)
    nan[1000:2000] = np.nan
    return {
        text: "not readable audio",
        empty: "not readable audio",
        write(folder / "short.wav", tone(2)): "only 2.0 s of audio",
        write(folder / "silent.flac", np.zeros(6 * SR, np.float32)): "is silent",
        write(folder / "loud.wav", loud, subtype="FLOAT"): "beyond the format's range",
        write(folder / "nan.wav", nan, subtype="FLOAT"): "NaN",
    }


def expected_message(path: Path, model_set) -> str:
    """What the page must say for a bad file: predict's own error, with the file's name."""
    with pytest.raises(Exception) as caught:  # noqa: PT011 - any error predict reports
        predict_file(path, model_set=model_set)
    reason = file_error(path, caught.value)
    assert reason.startswith(f"{path}: ")
    return f"**Could not classify {path.name}**: {reason.removeprefix(f'{path}: ')}"


# --- tiny trained model sets ----------------------------------------------------------------


def train_model_set(
    folder: Path,
    clips: list[tuple[np.ndarray, str]],
    *,
    archs: tuple[str, ...],
    data: DataParams,
    steps: int,
) -> Path:
    """Train `archs` (tiny) on `clips` (one window each: samples, genre), save them and their
    descriptions as the train and ensemble stages do (equal ensemble weights)."""
    import keras

    from genre.models.networks import build, save

    featurize = FeaturizeParams()
    summaries, sequences = [], []
    for samples, _ in clips:
        settings = FeatureSettings(data.sample_rate, data.duration_s, featurize)
        summary, sequence = song_features(samples, settings=settings)
        summaries.append(summary[0])
        sequences.append(sequence[0])
    xs = {"summary": np.stack(summaries), "sequence": np.stack(sequences)}
    y = np.array([GENRES.index(genre) for _, genre in clips])
    fingerprints = folder / "data"  # stand-ins for data/raw/index.csv and data/split/split.csv
    fingerprints.mkdir(parents=True, exist_ok=True)
    (fingerprints / "index.csv").write_text("".join(f"{g}\n" for _, g in clips))
    (fingerprints / "split.csv").write_text("train\n" * len(clips))
    models_dir = folder / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    descriptions = {}
    keras.utils.set_random_seed(0)
    for arch in archs:
        x = xs["summary" if arch == "mlp" else "sequence"]
        model = build(
            arch, train_x=x, params=ModelParams(units=16, layers=1, dropout=0.0), genres=GENRES
        )
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=0.01),
            loss="sparse_categorical_crossentropy",
        )
        # `steps` full batches in ONE epoch: Keras' per-epoch overhead would dominate
        repeat = (steps,) + (1,) * (x.ndim - 1)
        model.fit(np.tile(x, repeat), np.tile(y, steps), epochs=1, batch_size=len(x), verbose=0)
        path = modelset.model_path(arch, models_dir)
        save(model, path)
        descriptions[arch] = modelset.describe_model(
            arch,
            model_file=path,
            shape=x.shape[1:],
            genres=GENRES,
            data=data,
            featurize=featurize,
            index_path=fingerprints / "index.csv",
            split_path=fingerprints / "split.csv",
        )
        write_json(descriptions[arch], modelset.description_path(arch, models_dir))
    ensemble = modelset.describe_ensemble(
        descriptions, weights=dict.fromkeys(archs, 1.0), models_dir=models_dir
    )
    write_json(ensemble, modelset.description_path("ensemble", models_dir))
    return models_dir


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> Path:
    """An MLP and a SimpleRNN trained on synthetic signals: noise -> metal, tones -> classical,
    chords -> jazz (5 s clips, source `synthetic`)."""
    clips = [(noise(DURATION_S, seed=s), "metal") for s in range(4)]
    clips += [(tone(DURATION_S, hz=hz), "classical") for hz in (110, 220, 330, 440)]
    clips += [(chord(DURATION_S, root=r), "jazz") for r in (196.0, 261.6, 329.6, 392.0)]
    data = DataParams(source="synthetic", duration_s=DURATION_S, sample_rate=SR)
    folder = tmp_path_factory.mktemp("tiny")
    return train_model_set(folder, clips, archs=("mlp", "rnn"), data=data, steps=150)


@pytest.fixture(scope="module")
def service(tiny_models) -> Service:
    return Service(models_dir=tiny_models)


# --- the answer: genre predict's own ---------------------------------------------------------


@pytest.mark.parametrize("choice", ["ensemble", "mlp", "rnn"])
def test_answer_has_the_probabilities_of_genre_predict(service, tiny_models, tmp_path, choice):
    model_set = load_model_set(tiny_models, choice=choice)
    for path in good_files(tmp_path):
        answer = service.answer(str(path), choice)
        want = predict_file(path, model_set=model_set)
        assert answer.ok, answer.message
        assert list(answer.probabilities) == list(want.genres) == list(GENRES)
        np.testing.assert_array_equal(list(answer.probabilities.values()), want.probabilities)
        assert [row["genre"] for row in answer.timeline] == [
            want.genres[i] for i in want.window_probabilities.argmax(axis=1)
        ]
        (top, p), *_ = want.top(1)
        assert answer.message.startswith(f"**{path.name}**: most likely **{top}** ({p:.1%}")


def test_trained_answers_and_the_timeline_of_a_long_song(service, tmp_path):
    """The tiny models learnt their signals; a 20 s song is four 5 s windows, each labelled."""
    song = write(tmp_path / "medley.wav", np.concatenate([noise(10, seed=9), tone(5), chord(5)]))
    answer = service.answer(song, "mlp")
    assert [(r["window"], r["genre"]) for r in answer.timeline] == [
        ("00:00-00:05", "metal"),
        ("00:05-00:10", "metal"),
        ("00:10-00:15", "classical"),
        ("00:15-00:20", "jazz"),
    ]
    assert all(0.5 < r["probability"] <= 1 for r in answer.timeline)
    assert sum(answer.probabilities.values()) == pytest.approx(1.0)
    assert max(answer.probabilities, key=answer.probabilities.get) == "metal"


def test_model_sets_are_loaded_once_per_choice(tiny_models, tmp_path, monkeypatch):
    import genre.app.predict

    loads = []

    def counting(models_dir, *, choice):
        loads.append(choice)
        return load_model_set(models_dir, choice=choice)

    monkeypatch.setattr(genre.app.predict, "load_model_set", counting)
    service = Service(models_dir=tiny_models)
    song = write(tmp_path / "song.wav", noise(6))
    for choice in ("ensemble", "mlp", "ensemble", "mlp", "ensemble"):
        assert service.answer(song, choice).ok
    assert loads == ["ensemble", "mlp"]
    os.utime(tiny_models / "mlp.keras")  # retrained (same bytes will do): reloaded once
    assert service.answer(song, "mlp").ok and service.answer(song, "mlp").ok
    assert loads == ["ensemble", "mlp", "mlp"]


# --- bad input: one message each, the next upload still answered -----------------------------


def test_each_bad_upload_gets_one_message_naming_it(service, tiny_models, tmp_path):
    model_set = load_model_set(tiny_models)
    good = write(tmp_path / "good.wav", noise(6))
    for path, says in bad_files(tmp_path / "uploads").items():
        answer = service.answer(str(path), "ensemble")
        assert not answer.ok and answer.timeline == []
        assert answer.message == expected_message(path, model_set)
        assert says in answer.message and path.name in answer.message
        assert str(tmp_path) not in answer.message  # the server's folders are not shown
        assert service.answer(good, "ensemble").ok


def test_upload_over_the_size_limit(tiny_models, tmp_path):
    song = write(tmp_path / "big.wav", noise(10))  # 441 kB of 16-bit PCM
    small = Service(models_dir=tiny_models, max_bytes=100_000)
    answer = small.answer(song, "ensemble")
    assert not answer.ok
    assert answer.message == (
        "**Could not classify big.wav**: 0.4 MB is over this server's limit of "
        "0.0953674 MB: upload a shorter or compressed file"
    )


def test_no_upload_yet(service):
    answer = service.answer(None, "ensemble")
    assert not answer.ok and "Choose an audio file" in answer.message


@pytest.mark.parametrize("choice", ["ensemble", "lstm"])
def test_no_models_yet_says_what_to_run(tmp_path, choice):
    (tmp_path / "models").mkdir()
    service = Service(models_dir=tmp_path / "models")
    song = write(tmp_path / "song.wav", noise(6))
    answer = service.answer(song, choice)
    assert not answer.ok
    assert answer.message.startswith("**No model set to answer with yet**: no trained")
    assert "run `dvc repro` first" in answer.message
    assert service.about(choice) == answer.message


# --- which model set answers ----------------------------------------------------------------


REPORT = {
    "ensemble": {
        "test": {
            "accuracy": 0.9612,
            "accuracy_ci": [0.95, 0.971],
            "macro_recall": 0.96,
            "macro_recall_ci": [0.948, 0.97],
            "macro_f1": 0.959,
        },
        "test_original": {"accuracy": 0.93, "accuracy_ci": [0.89, 0.96]},
    }
}


def test_about_names_data_date_scores_and_warns_on_synthetic(service, tiny_models):
    write_json(REPORT, tiny_models.parent / "metrics" / "report.json")
    try:
        about = service.about("ensemble")
    finally:
        (tiny_models.parent / "metrics" / "report.json").unlink()
    description = load_model_set(tiny_models).description
    assert about.startswith("**Answering: ensemble**, trained on `synthetic` data")
    assert f"index md5 `{description['data']['index_md5'][:8]}`" in about
    assert "Models dated 20" in about and "(ensemble.json written)" in about
    assert "Weights: mlp 1, rnn 1" in about
    assert (
        "Test scores (95 % interval) on test clips: accuracy 0.961 [0.950, 0.971], macro "
        "recall 0.960 [0.948, 0.970], macro F1 0.959; original test clips: accuracy 0.930 "
        "[0.890, 0.960]." in about
    )
    assert "trained on the synthetic default data. They will not recognise real music" in about
    assert "Test scores unknown: no report.json" in service.about("mlp")


def test_about_real_data_has_no_warning(tmp_path):
    class Set:
        description = {"data": {"source": "gtzan", "index_md5": "0123456789ab"}, "weights": {}}

    about = model_set_markdown(
        Set(), choice="lstm", models_dir=tmp_path, report=tmp_path / "r.json"
    )
    assert about.startswith("**Answering: lstm**, trained on `gtzan` data (index md5 `01234567`)")
    assert "synthetic" not in about


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "Test scores unknown: no report.json"),
        ("{not json", "Test scores unknown: report.json has no readable entry for mlp"),
        ('{"rnn": {}}', "Test scores unknown: report.json has no readable entry for mlp"),
        ('{"mlp": {"test": {"accuracy": "n/a"}}}', "Test scores unknown: report.json has no"),
        ('{"mlp": {"test": {"accuracy": 0.5}}}', "on test clips: accuracy 0.500."),
    ],
)
def test_scores_are_read_tolerantly(tmp_path, content, says):
    report = tmp_path / "report.json"
    if content is not None:
        report.write_text(content)
    assert says in scores_line(report, model="mlp")


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--port", "0"], "error: --port 0: not a port number (1-65535)"),
        (["--max-mb", "0"], "error: --max-mb 0: must be above 0"),
    ],
)
def test_bad_options(capsys, argv, says):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve", *argv])
    assert exit_.value.code == 1
    assert capsys.readouterr().err.strip() == says


# --- the running server (slow) ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(models_dir: Path, *, cwd: Path, tmp: Path, max_mb: float = 50):
    """`genre serve` on a free port of 127.0.0.1, with its temporary files under `tmp`;
    yields (url, process); stopped with SIGTERM, which must end it cleanly."""
    if not GENRE_BIN.is_file():
        pytest.skip(f"console script not installed at {GENRE_BIN} (pip install -e .)")
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp)}
    argv = [str(GENRE_BIN), "serve", "--port", str(port), "--models-dir", str(models_dir)]
    log = cwd / f"serve-{port}.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [*argv, "--max-mb", str(max_mb)], cwd=cwd, env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not is_up(url):
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"not up in {START_TIMEOUT_S} s: {log.read_text()}"
            time.sleep(0.5)
        yield url, server
        assert server.poll() is None, log.read_text()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0, log.read_text()
        assert log.read_text().splitlines()[-1] == "genre serve: stopped"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def is_up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def rss(pid: int) -> int:
    import psutil

    return psutil.Process(pid).memory_info().rss


def label_probabilities(label: dict) -> dict[str, float]:
    """The API's Label value -> {genre: probability}."""
    return {c["label"]: c["confidence"] for c in label["confidences"]}


@pytest.mark.slow
def test_load_mixed_good_and_bad_uploads_from_8_clients(tiny_models, tmp_path):
    import httpx
    from gradio_client import Client, handle_file

    files = tmp_path / "files"
    model_set = load_model_set(tiny_models)
    want = {p: predict_file(p, model_set=model_set).probabilities for p in good_files(files)}
    bad = {p: expected_message(p, model_set) for p in bad_files(files)}
    too_big = write(files / "long.wav", noise(30, seed=5))  # 1.3 MB, over --max-mb 1
    uploads = [*want, *bad, too_big]
    jobs = [uploads[i % len(uploads)] for i in range(LOAD_REQUESTS)]
    project = tmp_path / "project"
    project.mkdir()
    with served(tiny_models, cwd=project, tmp=tmp_path / "tmp", max_mb=1) as (url, server):
        clients = [Client(url, verbose=False) for _ in range(LOAD_CLIENTS)]
        for path in want:  # warm up: every model set loaded, every code path run once
            clients[0].predict(handle_file(str(path)), "ensemble", api_name="/classify")
        warm = rss(server.pid)
        peak, done = [warm], threading.Event()

        def watch():
            while not done.wait(0.2):
                peak.append(rss(server.pid))

        def send(path: Path, client):
            if path == too_big:  # gradio_client refuses it before sending: post it raw
                with open(path, "rb") as f:
                    response = httpx.post(f"{url}/gradio_api/upload", files={"files": f})
                return path, (response.status_code, response.text)
            return path, client.predict(handle_file(str(path)), "ensemble", api_name="/classify")

        def client_run(k: int):
            """Client k sends every LOAD_CLIENTS-th job, one after another, as a person would."""
            return [send(path, clients[k]) for path in jobs[k::LOAD_CLIENTS]]

        watcher = threading.Thread(target=watch)
        watcher.start()
        start = time.perf_counter()
        try:
            with ThreadPoolExecutor(LOAD_CLIENTS) as pool:
                results = [r for run in pool.map(client_run, range(LOAD_CLIENTS)) for r in run]
        finally:
            done.set()
            watcher.join()
        seconds = time.perf_counter() - start
        uploaded = list((tmp_path / "tmp").glob("genre-serve-*"))
        assert len(uploaded) == 1  # uploads go to the server's own temporary folder
        for path, result in results:
            if path == too_big:
                assert result == (413, "File size exceeded maximum allowed size of 1048576 bytes.")
                continue
            label, _, message = result
            if path in want:
                got = label_probabilities(label)
                assert list(got) == sorted(got, key=got.get, reverse=True)
                # another process: TensorFlow's float32 sums may round differently (~1e-7)
                np.testing.assert_allclose(
                    [got[g] for g in GENRES], want[path], rtol=0, atol=1e-6, err_msg=path.name
                )
                assert max(got, key=got.get) == GENRES[int(np.argmax(want[path]))]
                assert message.startswith(f"**{path.name}**: most likely")
            else:
                assert message == bad[path]
        assert max(peak) - warm < RSS_GROWTH_LIMIT, (warm, max(peak))
        assert is_up(url)  # still serving, and still answering
        label, _, _ = clients[0].predict(
            handle_file(str(files / "tone.flac")), "mlp", api_name="/classify"
        )
        assert max(label_probabilities(label).items(), key=lambda kv: kv[1])[0] == "classical"
        print(
            f"\n{len(jobs)} requests from {LOAD_CLIENTS} clients in {seconds:.1f} s; server RSS "
            f"{warm / 2**20:.0f} MB after warm-up, peak {max(peak) / 2**20:.0f} MB"
        )
    assert list((tmp_path / "tmp").iterdir()) == []  # the upload folder is gone with the server
    assert sorted(p.name for p in project.iterdir()) == [f"serve-{url.rsplit(':', 1)[1]}.log"]


# --- a real browser (slow) ------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_models(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """An MLP trained on the 10 real clips of ../shared/gtzan-sample/ (one per genre, 30 s),
    briefly (40 steps), so it knows its training clips (their genre comes first, asserted)
    without being certain: the page shows a spread of probabilities."""
    if not GTZAN_SAMPLE.is_dir():
        pytest.skip(f"real GTZAN sample not found at {GTZAN_SAMPLE}")
    from genre.audio import read

    paths = {g: GTZAN_SAMPLE / g / f"{g}.00000.wav" for g in GENRES}
    clips = [(read(path, sample_rate=SR).samples, genre) for genre, path in paths.items()]
    data = DataParams(source="local", local_path=str(GTZAN_SAMPLE), duration_s=30, sample_rate=SR)
    folder = tmp_path_factory.mktemp("real")
    models_dir = train_model_set(folder, clips, archs=("mlp",), data=data, steps=40)
    model_set = load_model_set(models_dir)
    tops = {g: predict_file(path, model_set=model_set).top(1)[0][0] for g, path in paths.items()}
    assert sum(top == genre for genre, top in tops.items()) >= 9, tops
    assert tops[UPLOADED] == UPLOADED, tops
    return models_dir, paths


def chromium_or_skip() -> Path:
    if CHROMIUM.is_file():
        return CHROMIUM
    found = shutil.which("chromium")
    if found:
        return Path(found)
    pytest.skip("no Chromium on this machine (`apt-get install -y chromium`; .ci/run does it)")


@pytest.mark.slow
def test_real_browser_uploads_a_real_clip_and_sees_its_genre(real_models, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    browser_path = chromium_or_skip()
    models_dir, paths = real_models
    genre = UPLOADED
    project = tmp_path / "project"
    project.mkdir()
    with (
        served(models_dir, cwd=project, tmp=tmp_path / "tmp") as (url, _),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(browser_path), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(url)
            expect(page.locator("#about")).to_contain_text("trained on local data", timeout=60_000)
            upload = page.locator("#song input[type=file]")
            message = page.locator("#message")
            # bad uploads first: each gets its message on the page, the page goes on
            notes = tmp_path / "notes.mp3"
            notes.write_text("not audio at all\n" * 100)
            upload.set_input_files(str(notes))
            expect(message).to_contain_text(
                "Could not classify notes.mp3: not readable audio", timeout=60_000
            )
            expect(page.locator("#probabilities dl")).to_have_count(0)
            page.locator("#song button[aria-label=Clear]").click()
            big = tmp_path / "big.wav"  # 51 MB, over the default --max-mb 50
            sf.write(big, np.zeros(51 * 2**20 // 2), SR, subtype="PCM_16")
            upload.set_input_files(str(big))
            toast = page.get_by_text("exceed the maximum allowed size of 50.0 Mb")
            expect(toast).to_be_visible()
            expect(toast).to_be_hidden(timeout=30_000)  # it fades; the page goes on
            upload.set_input_files(str(paths[genre]))
            expect(message).to_contain_text(
                f"{genre}.00000.wav: most likely {genre}", timeout=120_000
            )
            rows = page.locator("#probabilities dl")
            expect(rows).to_have_count(len(GENRES))
            names = rows.locator("dt").all_inner_texts()
            percents = [float(t.strip().rstrip("%")) for t in rows.locator("dd").all_inner_texts()]
            assert sorted(names) == sorted(GENRES)
            assert names[0] == genre
            assert abs(sum(percents) - 100) <= len(GENRES) * 0.5  # each shown rounded to 1 %
            bars = page.locator("#probabilities meter").evaluate_all("m => m.map(e => e.value)")
            assert len(bars) == len(GENRES) and sum(bars) == pytest.approx(1.0, abs=1e-6)
            assert [round(100 * b) for b in bars] == percents
            shot = tmp_path / "serve.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            if os.environ.get("GENRE_SERVE_SCREENSHOT"):  # README's docs/serve.png
                shutil.copyfile(shot, os.environ["GENRE_SERVE_SCREENSHOT"])
        finally:
            browser.close()
