"""Downloading GTZAN archives from a local HTTP server: checksums, caching, safe extraction."""

import functools
import hashlib
import http.server
import io
import socket
import stat
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from genre.errors import GenreError
from genre.files import md5sum
from genre.sources import remote
from genre.stages import download

SR = 22050
GENRES3 = ("blues", "jazz", "rock")


def clip_bytes(*, seconds=1.0, sample_rate=SR, fmt="AU", freq=440.0) -> bytes:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    buf = io.BytesIO()
    sf.write(buf, 0.5 * np.sin(2 * np.pi * freq * t), sample_rate, format=fmt, subtype="PCM_16")
    return buf.getvalue()


def add_tar(tf: tarfile.TarFile, name: str, data: bytes = b"", **attrs) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in attrs.items():
        setattr(info, key, value)
    tf.addfile(info, io.BytesIO(data))


def gtzan_tar(path: Path, extra=()) -> Path:
    """A tiny GTZAN: genres/<genre>/<genre>.0000N.au (2 per genre) plus the .mf lists."""
    with tarfile.open(path, "w:gz") as tf:
        add_tar(tf, "genres/input.mf", b"genres/blues/blues.00000.au\tblues\n")
        for i, genre in enumerate(GENRES3):
            for n in range(2):
                add_tar(
                    tf,
                    f"genres/{genre}/{genre}.0000{n}.au",
                    clip_bytes(freq=200.0 + 100 * i + 10 * n),
                )
        for name, data, attrs in extra:
            add_tar(tf, name, data, **attrs)
    return path


def mini_zip(path: Path, extra=()) -> Path:
    """gtzan_mini's layout: gtzan_mini-main/genres/<genre>/<genre>.0000N.wav + a README."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("gtzan_mini-main/README.md", "mini GTZAN\n")
        for genre in GENRES3:
            zf.writestr(
                f"gtzan_mini-main/genres/{genre}/{genre}.00003.wav",
                clip_bytes(fmt="WAV", seconds=1.5),
            )
        for info, data in extra:
            zf.writestr(info, data)
    return path


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """(base URL, served folder, list of requested paths) of a server on 127.0.0.1."""
    folder = tmp_path / "www"
    folder.mkdir()
    requests = []

    class Handler(QuietHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(folder))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", folder, requests
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def closed_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/genres.tar.gz"


def test_constants_are_the_published_archives():
    assert remote.GTZAN_URL == "http://opihi.cs.uvic.ca/sound/genres.tar.gz"
    assert remote.GTZAN_MD5 == "5b3d6dddb579ab49814ab86dba69e7c7"
    assert remote.GTZAN_MINI_URL.endswith("gtzan_mini/archive/refs/heads/main.zip")
    assert remote.GTZAN_MINI_MD5 == "44f7f23af8363d96c59663a987f29a4c"


def test_gtzan_source_downloads_once_and_lays_out_data_raw(server, tmp_path, monkeypatch):
    base, folder, requests = server
    archive = gtzan_tar(folder / "genres.tar.gz")
    monkeypatch.setitem(download.ARCHIVES, "gtzan", (f"{base}/genres.tar.gz", md5(archive)))
    raw, cache = tmp_path / "data" / "raw", tmp_path / "cache"
    data = download.DataParams(source="gtzan")

    text = download.download(data, raw, cache_dir=cache)

    index = pd.read_csv(raw / "index.csv", keep_default_na=False)
    assert list(index.track_id) == [f"{g}.0000{n}" for g in GENRES3 for n in range(2)]
    assert list(index.path) == [f"{g}/{g}.0000{n}.wav" for g in GENRES3 for n in range(2)]
    assert (index.seconds == 1.0).all() and (index.sample_rate == SR).all()
    assert (index.note == "").all()  # already 22050 Hz mono: nothing to convert
    for row in index.itertuples():
        assert md5sum(raw / row.path) == row.md5
        assert sf.info(raw / row.path).subtype == "PCM_16"
    assert pd.read_csv(raw / "skipped.csv").empty
    assert "6 clips from gtzan" in text and "blues 2, jazz 2, rock 2" in text
    # cached: a second run verifies the cached archive instead of downloading it again
    download.download(data, raw, cache_dir=cache)
    assert requests == ["/genres.tar.gz"]
    cached = remote.pooch.utils.unique_file_name(f"{base}/genres.tar.gz")
    assert [p.name for p in cache.iterdir()] == [cached]  # the extraction folder is gone


def test_gtzan_mini_zip_layout_is_found(server, tmp_path):
    base, folder, _ = server
    archive = mini_zip(folder / "main.zip")
    imported = remote.import_archive(
        f"{base}/main.zip",
        tmp_path / "raw",
        known_hash=md5(archive),
        sample_rate=16000,
        cache_dir=tmp_path / "cache",
    )
    written = sorted(
        p.relative_to(tmp_path / "raw").as_posix() for p in (tmp_path / "raw").rglob("*.wav")
    )
    assert written == [f"{g}/{g}.00003.wav" for g in GENRES3]
    assert imported.notes == dict.fromkeys(
        (f"{g}.00003" for g in GENRES3), "resampled from 22050 Hz"
    )
    assert sf.info(tmp_path / "raw/jazz/jazz.00003.wav").frames == 24000  # 1.5 s at 16 kHz


def test_checksum_mismatch_deletes_the_cached_file(server, tmp_path):
    base, folder, requests = server
    archive = gtzan_tar(folder / "genres.tar.gz")
    cache = tmp_path / "cache"
    url = f"{base}/genres.tar.gz"
    with pytest.raises(GenreError, match=r"download of .* is corrupt .*run again"):
        remote.fetch(url, known_hash="0" * 32, cache_dir=cache)
    assert not any(cache.iterdir())
    # a stale cached copy with the wrong content is replaced by a fresh download
    (cache / remote.pooch.utils.unique_file_name(url)).write_bytes(b"stale")
    path = remote.fetch(url, known_hash=md5(archive), cache_dir=cache)
    assert path.read_bytes() == archive.read_bytes()
    assert len(requests) == 2


def test_truncated_archive_is_a_clear_error(server, tmp_path):
    base, folder, _ = server
    whole = gtzan_tar(tmp_path / "whole.tar.gz").read_bytes()
    (folder / "cut.tar.gz").write_bytes(whole[: len(whole) // 2])
    out = tmp_path / "raw"
    with pytest.raises(GenreError, match=r"cut\.tar\.gz: the archive is truncated or corrupt"):
        remote.import_archive(
            f"{base}/cut.tar.gz",
            out,
            known_hash=md5(folder / "cut.tar.gz"),
            sample_rate=SR,
            cache_dir=tmp_path / "cache",
        )
    assert not out.exists()


def test_truncated_zip_is_a_clear_error(tmp_path):
    whole = mini_zip(tmp_path / "whole.zip").read_bytes()
    (tmp_path / "cut.zip").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(GenreError, match=r"cut\.zip: the archive is truncated or corrupt"):
        remote.extract(tmp_path / "cut.zip", tmp_path / "out")


def test_extraction_failure_is_a_clear_error(tmp_path):
    archive = gtzan_tar(tmp_path / "genres.tar.gz")
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(GenreError, match=r"cannot extract .*genres\.tar\.gz into .*file \("):
        remote.extract(archive, tmp_path / "file")


def _symlink_zip_info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix, so the mode bits count
    info.external_attr = mode << 16
    return info


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ([("../evil.txt", b"x", {})], r"points outside the folder \(\.\.\)"),
        ([("genres/../../evil.txt", b"x", {})], r"points outside the folder"),
        ([("/tmp/evil.txt", b"x", {})], r"has an absolute path"),
        (
            [("genres/link", b"", {"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"})],
            r"is a link \(to /etc/passwd\)",
        ),
        (
            [("genres/hard", b"", {"type": tarfile.LNKTYPE, "linkname": "genres/input.mf"})],
            r"is a link",
        ),
        ([("genres/fifo", b"", {"type": tarfile.FIFOTYPE})], r"is a device file or FIFO"),
        (
            [("genres/null", b"", {"type": tarfile.CHRTYPE, "devmajor": 1, "devminor": 3})],
            r"is a device file or FIFO",
        ),
    ],
)
def test_unsafe_tar_members_are_refused_before_anything_is_extracted(tmp_path, extra, why):
    archive = gtzan_tar(tmp_path / "bad.tar.gz", extra=extra)
    dest = tmp_path / "deep" / "out"
    dest.mkdir(parents=True)
    with pytest.raises(GenreError, match=rf"unsafe archive member '.*': it {why}.*; refusing"):
        remote.extract(archive, dest)
    assert not any(dest.iterdir())
    assert not (tmp_path / "deep" / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize(
    ("info", "why"),
    [
        ("../evil.txt", r"points outside the folder"),
        ("..\\evil.txt", r"points outside the folder"),
        ("/abs/evil.txt", r"has an absolute path"),
        ("C:/evil.txt", r"has an absolute path"),
        (_symlink_zip_info("gtzan_mini-main/link", stat.S_IFLNK | 0o777), r"is a link"),
        (_symlink_zip_info("gtzan_mini-main/fifo", stat.S_IFIFO | 0o644), r"is a device file"),
    ],
)
def test_unsafe_zip_members_are_refused(tmp_path, info, why):
    archive = mini_zip(tmp_path / "bad.zip", extra=[(info, b"/etc/passwd")])
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(GenreError, match=rf"unsafe archive member .*: it {why}"):
        remote.extract(archive, dest)
    assert not any(dest.iterdir()) and not (tmp_path / "evil.txt").exists()


def test_unsafe_archive_through_the_stage_keeps_the_old_data_raw(server, tmp_path, monkeypatch):
    base, folder, _ = server
    archive = gtzan_tar(folder / "genres.tar.gz", extra=[("../evil.txt", b"x", {})])
    monkeypatch.setitem(download.ARCHIVES, "gtzan", (f"{base}/genres.tar.gz", md5(archive)))
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "index.csv").write_text("old")
    with pytest.raises(GenreError, match=r"unsafe archive member '\.\./evil\.txt'"):
        download.download(download.DataParams(source="gtzan"), raw, cache_dir=tmp_path / "c")
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["raw"]
    assert (raw / "index.csv").read_text() == "old"


def test_unreachable_url_says_how_to_work_offline(closed_url, tmp_path):
    with pytest.raises(
        GenreError,
        match=r"cannot download http://127\.0\.0\.1:\d+/genres\.tar"
        r"\.gz \(connection error\); to work offline, set data\.source to "
        r"synthetic",
    ):
        remote.fetch(closed_url, known_hash="0" * 32, cache_dir=tmp_path / "cache")


def test_missing_file_on_the_server_names_the_http_status(server, tmp_path):
    base, _, _ = server
    with pytest.raises(GenreError, match=r"cannot download .*/nope\.zip \(HTTP 404 "):
        remote.fetch(f"{base}/nope.zip", known_hash="0" * 32, cache_dir=tmp_path / "cache")


def test_an_archive_of_unknown_genres_names_the_file_inside_the_archive(server, tmp_path):
    base, folder, _ = server
    archive = folder / "odd.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        add_tar(tf, "genres/foo/foo.00000.au", clip_bytes())
    with pytest.raises(
        GenreError,
        match=r"-odd\.tar\.gz/genres/foo/foo\.00000\.au: unknown "
        r"genre 'foo'; known genres: blues, classical",
    ):
        remote.import_archive(
            f"{base}/odd.tar.gz",
            tmp_path / "raw",
            known_hash=md5(archive),
            sample_rate=SR,
            cache_dir=tmp_path / "cache",
        )


def test_cache_dir_defaults_to_the_os_cache_and_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(remote.CACHE_ENV, raising=False)
    assert remote.default_cache_dir() == Path(remote.pooch.os_cache("genre"))
    monkeypatch.setenv(remote.CACHE_ENV, str(tmp_path))
    assert remote.default_cache_dir() == tmp_path
