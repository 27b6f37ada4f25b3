"""`genre serve` makes no outside connection: a request that would make it fetch a URL is
refused before Gradio sees it, and a refused request is one line in its log."""

import asyncio
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from genre.app.guard import MAX_JSON_BYTES, NoOutsideFetches, body_url, file_route_url, names_url

GENRE_BIN = Path(sys.executable).with_name("genre")


@pytest.mark.parametrize(
    "text",
    [
        "http://203.0.113.5/x.wav",
        "https://example.org/a.mp3",
        "HTTP://EXAMPLE.ORG/",
        "//example.org/x.wav",
        "ftp://example.org/x.wav",
        "file:///etc/passwd",
        " http://example.org/",
        "http%3A%2F%2Fexample.org%2Fx.wav",
        "http%253A%252F%252Fexample.org",
    ],
)
def test_urls_are_recognised_however_written(text):
    assert names_url(text)


@pytest.mark.parametrize(
    "text", ["/tmp/gradio/0a1b/song.wav", "song.wav", "C:/music/song.wav", "a:b", ""]
)
def test_file_paths_are_not_urls(text):
    assert not names_url(text)


def test_the_file_route_with_a_url_is_caught_and_with_a_path_is_not():
    assert file_route_url("/gradio_api/file=http://203.0.113.5/x.wav") == "http://203.0.113.5/x.wav"
    assert file_route_url("/gradio_api/file=/tmp/gradio/ab/song.wav") is None
    assert file_route_url("/gradio_api/info") is None


def test_a_file_named_by_url_in_an_api_body_is_caught():
    remote = {"path": "http://203.0.113.5/x.wav", "meta": {"_type": "gradio.FileData"}}
    assert body_url(json.dumps({"data": [remote, "ensemble"]}).encode()) == remote["path"]
    # what the page itself sends: the upload's path, and the server's own URL for it
    uploaded = {
        "path": "/tmp/gradio/ab/song.wav",
        "url": "http://127.0.0.1:7860/gradio_api/file=/tmp/gradio/ab/song.wav",
        "meta": {"_type": "gradio.FileData"},
    }
    assert body_url(json.dumps({"data": [uploaded, "lstm"]}).encode()) is None
    assert body_url(json.dumps({"data": [{"url": "https://example.org/a.wav"}]}).encode())
    assert body_url(b"not json") is None


def call_guarded(method: str, path: str, body: bytes = b"", content_type: str = "") -> tuple:
    """(status, what the inner app received) for one request through the middleware."""
    seen = []

    async def inner(scope, receive, send):
        message = await receive()
        seen.append(message.get("body", b""))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def go():
        transport = httpx.ASGITransport(app=NoOutsideFetches(inner))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            headers = {"content-type": content_type} if content_type else {}
            response = await client.request(method, path, content=body, headers=headers)
            return response.status_code

    return asyncio.run(go()), seen


def test_the_middleware_refuses_fetches_and_passes_the_rest_intact():
    status, seen = call_guarded("GET", "/gradio_api/file=http://203.0.113.5/x.wav")
    assert (status, seen) == (403, [])
    remote = json.dumps({"data": [{"path": "https://example.org/a.wav"}, "mlp"]}).encode()
    status, seen = call_guarded("POST", "/gradio_api/call/classify", remote, "application/json")
    assert (status, seen) == (403, [])
    fine = json.dumps({"data": [{"path": "/tmp/gradio/ab/song.wav"}, "mlp"]}).encode()
    status, seen = call_guarded("POST", "/gradio_api/call/classify", fine, "application/json")
    assert (status, seen) == (200, [fine])  # the body reaches Gradio unchanged
    huge = b'{"data": ["' + b"x" * MAX_JSON_BYTES + b'"]}'
    status, seen = call_guarded("POST", "/gradio_api/call/classify", huge, "application/json")
    assert (status, seen) == (413, [])


# --- a running server, against a loopback "outside" server (slow) ----------------------------

# In the server's process only: every address counts as public, as a real outside server's
# would, so Gradio's own check (which refuses loopback) lets the fetch through: without the
# guard, the outside server below WOULD be fetched.
PUBLIC_LOOPBACK = "import safehttpx\nsafehttpx.is_public_ip = lambda ip: True\n"


class Outside(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - the stdlib's name
        Outside.hits.append(self.path)
        self.send_response(200)
        self.send_header("content-type", "audio/wav")
        self.end_headers()
        self.wfile.write(b"RIFF")

    def log_message(self, *args):
        pass


@contextmanager
def outside_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Outside)
    Outside.hits = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(tmp_path: Path):
    """`genre serve` (no models: none are needed to refuse) with loopback counted public."""
    if not GENRE_BIN.is_file():
        pytest.skip(f"console script not installed at {GENRE_BIN} (pip install -e .)")
    (tmp_path / "site").mkdir()
    (tmp_path / "site/sitecustomize.py").write_text(PUBLIC_LOOPBACK)
    path = os.pathsep.join(filter(None, [str(tmp_path / "site"), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "TMPDIR": str(tmp_path)}
    port, log = free_port(), tmp_path / "serve.log"
    argv = [str(GENRE_BIN), "serve", "--port", str(port), "--models-dir", str(tmp_path / "none")]
    with open(log, "w") as out:
        server = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while status(url) != 200:
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        yield url, log
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def status(url: str, body: dict | None = None) -> int | None:
    return answer(url, body)[0]


def answer(url: str, body: dict | None = None) -> tuple[int | None, str]:
    """(HTTP status, body text) of a GET, or of a POST of `body` as JSON."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, ""
    except OSError:
        return None, ""


def call(url: str, data: list) -> str:
    """Call the page's API as a script would (POST, then read the result's event stream)."""
    code, text = answer(f"{url}/gradio_api/call/classify", {"data": data})
    if code != 200:
        return f"HTTP {code}"
    event = json.loads(text)["event_id"]
    return answer(f"{url}/gradio_api/call/classify/{event}")[1]


@pytest.mark.slow
def test_the_server_fetches_no_url_and_logs_refusals_on_one_line(tmp_path):
    with outside_server() as outside, serving(tmp_path) as (url, log):
        assert status(f"{url}/gradio_api/file={outside}/x.wav") == 403
        assert status(f"{url}/gradio_api/file={outside.replace(':', '%3A')}/y.wav") == 403
        remote = {"path": f"{outside}/z.wav", "meta": {"_type": "gradio.FileData"}}
        assert call(url, [remote, "ensemble"]) == "HTTP 403"
        # refused by Gradio itself: a file that was not uploaded, a model that is not offered
        local = {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}
        assert "event: error" in call(url, [local, "ensemble"])
        assert "event: error" in call(url, [None, "no-such-model"])
    assert Outside.hits == []
    text = log.read_text()
    assert "Traceback" not in text, text
    refused = [line for line in text.splitlines() if "refused" in line]
    assert len(refused) >= 5, text
