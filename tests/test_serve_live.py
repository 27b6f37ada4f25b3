"""`genre serve` running (slow): the HTTP API under concurrent load from 8 clients (good
and bad uploads, memory, the temporary upload folder), and a real browser (headless
Chromium) uploading a real GTZAN clip and seeing its genre. README's figures and
docs/serve.png come from here:
`pytest -m slow tests/test_serve_live.py -k load_mixed -s` and
`GENRE_SERVE_SCREENSHOT=docs/serve.png pytest -m slow tests/test_serve_live.py -k browser`.
"""

import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers import (
    SR,
    bad_uploads,
    expected_message,
    free_port,
    genre_command,
    good_uploads,
    noise,
    train_model_set,
    write,
)

from genre import GENRES
from genre.app.predict import load_model_set, predict_file
from genre.params import DataParams

CHROMIUM = Path("/usr/bin/chromium")
START_TIMEOUT_S = 180
LOAD_REQUESTS = 56  # >= 50, from 8 clients
LOAD_CLIENTS = 8
UPLOADED = "metal"  # the real clip the browser uploads
RSS_GROWTH_LIMIT = 400 * 2**20  # the server's memory after the load, over its warm-up level


# --- the running server (slow) ---------------------------------------------------------------


@contextmanager
def served(models_dir: Path, *, cwd: Path, tmp: Path, max_mb: float = 50):
    """`genre serve` on a free port of 127.0.0.1, with its temporary files under `tmp`;
    yields (url, process); stopped with SIGTERM, which must end it cleanly."""
    command = genre_command()
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp)}
    argv = [str(command), "serve", "--port", str(port), "--models-dir", str(models_dir)]
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
def test_load_mixed_good_and_bad_uploads_from_8_clients(trained_models, tmp_path):
    import httpx
    from gradio_client import Client, handle_file

    files = tmp_path / "files"
    model_set = load_model_set(trained_models)
    want = {p: predict_file(p, model_set=model_set).probabilities for p in good_uploads(files)}
    bad = {p: expected_message(p, model_set) for p in bad_uploads(files)}
    too_big = write(files / "long.wav", noise(30, seed=5))  # 1.3 MB, over --max-mb 1
    uploads = [*want, *bad, too_big]
    jobs = [uploads[i % len(uploads)] for i in range(LOAD_REQUESTS)]
    project = tmp_path / "project"
    project.mkdir()
    with served(trained_models, cwd=project, tmp=tmp_path / "tmp", max_mb=1) as (url, server):
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
def real_models(tmp_path_factory, gtzan_sample) -> tuple[Path, dict[str, Path]]:
    """An MLP trained on the 10 real clips of ../shared/gtzan-sample/ (one per genre, 30 s),
    briefly (40 steps), so it knows its training clips (their genre comes first, asserted)
    without being certain: the page shows a spread of probabilities."""
    from genre.audio import read

    paths = {g: gtzan_sample / g / f"{g}.00000.wav" for g in GENRES}
    clips = [(read(path, sample_rate=SR).samples, genre) for genre, path in paths.items()]
    data = DataParams(source="local", local_path=str(gtzan_sample), duration_s=30, sample_rate=SR)
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
