"""What `genre serve` refuses before Gradio sees it: any request that would make the server
fetch a URL, so it never connects to the outside and cannot be used as a proxy.

Gradio fetches `http(s)://` URLs named by `/gradio_api/file=<url>`, or given as a file's
`path` in an API call's JSON body. `NoOutsideFetches` answers both with 403 and logs one line.
`one_line_tracebacks` makes Gradio's log of a refused request one line, not a traceback.
"""

import json
import logging
import re
import sys
import traceback
from types import SimpleNamespace
from urllib.parse import unquote

URL = re.compile(r"^\s*(?:[A-Za-z][A-Za-z0-9+.-]*:)?//")  # scheme://host or //host
FILE_ROUTE = "/file="
MAX_JSON_BYTES = 1 << 20  # an API call's JSON body; uploads are multipart, not JSON

log = logging.getLogger("genre.serve")


def names_url(text: str) -> bool:
    """Whether `text`, percent-decoded (twice, as a client may have encoded it), is a URL."""
    return any(URL.match(candidate) for candidate in (text, unquote(text), unquote(unquote(text))))


def file_route_url(path: str) -> str | None:
    """The URL a `.../file=<url>` path asks the server to fetch, or None."""
    _, found, rest = path.partition(FILE_ROUTE)
    return rest if found and names_url(rest) else None


def body_url(body: bytes) -> str | None:
    """The first URL a JSON body gives as a file's `path` (or `url` of a file with no path)."""
    try:
        todo = [json.loads(body)]
    except (ValueError, UnicodeDecodeError):
        return None  # not JSON: Gradio refuses it on its own
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            path = item.get("path") or item.get("url")
            if isinstance(path, str) and names_url(path):
                return path
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return None


class NoOutsideFetches:
    """ASGI middleware: 403 for a request that would make the server fetch a URL."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        url = file_route_url(scope.get("path", ""))
        if url is None and scope.get("method") == "POST" and _is_json(scope):
            body, receive = await _read_body(receive)
            if body is None:
                log.warning("refused a JSON body over %d bytes", MAX_JSON_BYTES)
                return await _refuse(send, 413, b"refused: a JSON body this big is not a call\n")
            url = body_url(body)
        if url is None:
            return await self.app(scope, receive, send)
        log.warning("refused %s %s: it names a URL to fetch", scope.get("method"), _short(url))
        await _refuse(send, 403, b"refused: this server fetches no URL; upload the file instead\n")


def _is_json(scope) -> bool:
    headers = dict(scope.get("headers") or [])
    return b"json" in headers.get(b"content-type", b"")


async def _read_body(receive):
    """The whole request body (None when over MAX_JSON_BYTES), and a `receive` that replays it
    to the app."""
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > MAX_JSON_BYTES:
            return None, receive
        more = message.get("more_body", False) and message["type"] == "http.request"
    body = b"".join(chunks)
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


async def _refuse(send, status: int, text: bytes) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"%d" % len(text)),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text})


def _short(text: str, limit: int = 80) -> str:
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def one_line_tracebacks(*modules) -> None:
    """Make each Gradio module's `traceback.print_exc()` (its log of a request it refused, e.g. a
    path that was not uploaded, or an unknown model choice) one log line."""

    def print_exc(*args, **kwargs):
        kind, error, _ = sys.exc_info()
        what = f"{kind.__name__}: {error}" if kind else "unknown error"
        log.warning("refused a request: %s", _short(" ".join(what.split()), 200))

    quiet = SimpleNamespace(**{**vars(traceback), "print_exc": print_exc})
    for module in modules:
        module.traceback = quiet
