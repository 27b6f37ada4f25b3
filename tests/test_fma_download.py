"""Downloads that resume (HTTP Range) and the FMA source's download, from a server on
127.0.0.1 that honours Range and If-Range and can cut a transfer short: a fabricated FMA's
archives, checked against their sha1 as FMA's are against the published ones."""

import functools
import hashlib
import http.server
import threading
from pathlib import Path

import pandas as pd
import pytest
from fake_fma import ERRATUM, NO_GENRE, sha1, write_fma, zip_fma

from genre.errors import GenreError
from genre.params import DataParams
from genre.sources import dataset, fma, remote


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """GET of a file in `folder`: the whole file (200), or from a byte on (206) for `Range:
    bytes=N-` unless If-Range names another ETag than the file's. `cuts[name]` is a list of
    byte counts: each request of the file sends at most the next one, then drops the
    connection (the Content-Length promised more). Every request is logged."""

    def __init__(self, *args, folder: Path, cuts: dict, log: list, **kwargs):
        self.folder, self.cuts, self.log = folder, cuts, log
        super().__init__(*args, **kwargs)

    def log_message(self, *args):
        pass

    def do_GET(self):
        name = self.path.lstrip("/")
        path = self.folder / name
        if not path.is_file():
            self.log.append((name, self.headers.get("Range"), 0))
            self.send_error(404)
            return
        data = path.read_bytes()
        etag = f'"{hashlib.md5(data).hexdigest()}"'
        start, wanted = 0, self.headers.get("Range")
        if wanted and self.headers.get("If-Range", etag) == etag:
            start = int(wanted.removeprefix("bytes=").rstrip("-"))
        if start >= len(data) and wanted:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.end_headers()
            self.log.append((name, wanted, 0))
            return
        body = data[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.end_headers()
        cut = self.cuts.get(name)
        sent = body[: cut.pop(0)] if cut else body
        self.log.append((name, wanted, len(sent)))  # before: the client may be done after
        self.wfile.write(sent)
        if len(sent) < len(body):
            self.wfile.flush()
            self.close_connection = True


@pytest.fixture
def server(tmp_path):
    """(base URL, served folder, cuts, request log) of a Range server on 127.0.0.1."""
    folder, cuts, log = tmp_path / "www", {}, []
    folder.mkdir()
    handler = functools.partial(RangeHandler, folder=folder, cuts=cuts, log=log)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", folder, cuts, log
    httpd.shutdown()
    httpd.server_close()


def blob(path: Path, size: int = 600_000, seed: int = 0) -> Path:
    """An archive-sized file of pseudo-random bytes (the same for a seed)."""
    path.write_bytes(hashlib.shake_256(str(seed).encode()).digest(size))
    return path


def test_an_interrupted_transfer_resumes_where_it_stopped(server, tmp_path, capsys):
    base, folder, cuts, log = server
    cache = tmp_path / "cache"
    data = blob(folder / "big.zip").read_bytes()
    cuts["big.zip"] = [200_000, 150_000]  # two interruptions, then the rest
    path = remote.fetch(
        f"{base}/big.zip", known_hash=f"sha1:{sha1(folder / 'big.zip')}", cache_dir=cache
    )
    assert path.read_bytes() == data
    ranges = [r for _, r, _ in log]
    assert ranges[0] is None and all(r.startswith("bytes=") for r in ranges[1:])
    assert len(log) == 3 and sum(n for *_, n in log) < 1.25 * len(data)  # not sent again
    assert [p.name for p in cache.iterdir()] == [path.name]  # no partial file left
    assert capsys.readouterr().err.count("interrupted (chunkedencoding error)") == 2


def test_a_run_that_gives_up_keeps_the_bytes_and_the_next_run_resumes(
    server, tmp_path, monkeypatch
):
    base, folder, cuts, log = server
    cache = tmp_path / "cache"
    data = blob(folder / "big.zip").read_bytes()
    url, digest = f"{base}/big.zip", f"sha1:{sha1(folder / 'big.zip')}"
    cuts["big.zip"] = [400_000]
    monkeypatch.setattr(remote, "MAX_RESUMES", 0)
    with pytest.raises(GenreError) as err:
        remote.fetch(url, known_hash=digest, cache_dir=cache)
    assert f"(chunkedencoding error); 0.4 MB kept in {cache}, run again to resume;" in str(
        err.value
    )
    name = remote.pooch.utils.unique_file_name(url)
    assert sorted(p.name for p in cache.iterdir()) == [f"{name}.part", f"{name}.part.etag"]
    kept = (cache / f"{name}.part").stat().st_size
    assert 0 < kept <= 400_000
    assert remote.fetch(url, known_hash=digest, cache_dir=cache).read_bytes() == data
    assert log[-1] == ("big.zip", f"bytes={kept}-", len(data) - kept)  # only the rest
    assert [p.name for p in cache.iterdir()] == [name]


def test_a_file_changed_on_the_server_is_downloaded_afresh(server, tmp_path, monkeypatch):
    base, folder, cuts, log = server
    cache = tmp_path / "cache"
    blob(folder / "big.zip")
    url = f"{base}/big.zip"
    cuts["big.zip"] = [300_000]
    monkeypatch.setattr(remote, "MAX_RESUMES", 0)
    with pytest.raises(GenreError):
        remote.fetch(url, known_hash=None, cache_dir=cache)
    new = blob(folder / "big.zip", seed=1).read_bytes()  # replaced: another ETag
    assert remote.fetch(url, known_hash=f"sha1:{sha1(folder / 'big.zip')}", cache_dir=cache)
    name = remote.pooch.utils.unique_file_name(url)
    assert (cache / name).read_bytes() == new
    assert log[-1][1].startswith("bytes=") and log[-1][2] == len(new)  # If-Range: all of it


def test_a_server_that_stops_sending_is_given_up_after_the_retries(server, tmp_path, monkeypatch):
    base, folder, cuts, log = server
    cache = tmp_path / "cache"
    blob(folder / "big.zip")
    cuts["big.zip"] = [100_000] + [0] * 10  # then nothing, ever
    monkeypatch.setattr(remote, "RETRY_WAIT_S", 0.0)
    with pytest.raises(GenreError, match=r"cannot download .*big\.zip \(chunked.*kept in"):
        remote.fetch(f"{base}/big.zip", known_hash=None, cache_dir=cache)
    assert len(log) == 1 + remote.RETRIES + 1  # the first, then RETRIES + 1 in a row for nothing


def test_a_wrong_sha1_deletes_the_download(server, tmp_path):
    base, folder, _, _ = server
    cache = tmp_path / "cache"
    blob(folder / "big.zip")
    with pytest.raises(GenreError) as err:
        remote.fetch(f"{base}/big.zip", known_hash="sha1:" + "0" * 40, cache_dir=cache)
    assert str(err.value) == (
        f"the download of {base}/big.zip is corrupt (its sha1 is not {'0' * 40}); the cached "
        "copy was deleted, run again to download it afresh"
    )
    assert not any(cache.iterdir())


def test_fmas_archives_are_the_published_ones():
    assert (fma.METADATA.url, fma.METADATA.sha1) == (
        "https://os.unil.cloud.switch.ch/fma/fma_metadata.zip",
        "f0df49ffe5f2a6008d7dc83c6915b31835dfe733",
    )
    assert {s: (m.url.rsplit("/", 1)[1], m.sha1) for s, m in fma.AUDIO.items()} == {
        "small": ("fma_small.zip", "ade154f733639d52e35e32f5593efe5be76c6d70"),
        "medium": ("fma_medium.zip", "c67b69ea232021025fca9231fc1c7c1a063ab50b"),
        "large": ("fma_large.zip", "497109f4dd721066b5ce5e5f250ec604dc78939e"),
    }
    assert fma.AUDIO["small"].known_hash == "sha1:ade154f733639d52e35e32f5593efe5be76c6d70"


@pytest.fixture
def fma_host(server, tmp_path, monkeypatch):
    """The server serving a fabricated FMA small's two archives in place of FMA's host."""
    base, folder, cuts, log = server
    monkeypatch.setattr(remote, "DOWNLOAD_CHUNK", 4096)  # a cut keeps bytes of a small zip
    fake = write_fma(tmp_path / "made", per_genre=2, seconds=1.0)
    metadata, audio = zip_fma(fake, folder)
    monkeypatch.setattr(
        fma, "METADATA", remote.Mirror(f"{base}/{metadata.name}", sha1=sha1(metadata))
    )
    mirror = remote.Mirror(f"{base}/{audio.name}", sha1=sha1(audio))
    monkeypatch.setitem(fma.AUDIO, "small", mirror)
    return fake, audio, cuts, log


def test_the_fma_download_resumes_extracts_only_its_clips_and_keeps_the_split(
    fma_host, tmp_path, monkeypatch
):
    fake, audio, cuts, log = fma_host
    cuts[audio.name] = [audio.stat().st_size // 2]
    extracted = []
    copy = remote._copy

    def recording_copy(source, archive, dest, name, *args):
        extracted.append(name)
        return copy(source, archive, dest, name, *args)

    monkeypatch.setattr(remote, "_copy", recording_copy)
    raw, cache = tmp_path / "raw", tmp_path / "cache"
    text = dataset.download(DataParams(source="fma", duration_s=1.0), raw, cache_dir=cache)

    assert [(name, r is not None) for name, r, _ in log] == [
        ("fma_metadata.zip", False),
        (audio.name, False),
        (audio.name, True),  # resumed
    ]
    index = pd.read_csv(raw / "index.csv", dtype=str)
    assert list(index["official_split"]) == ["train", "train"] * 3
    clips = fake.clips()["track_id"]
    assert sorted(extracted) == sorted(
        ["fma_metadata/tracks.csv", *(f"fma_small/{t[:3]}/{t}.mp3" for t in clips)]
    )  # not the erratum, the track without a genre, the README, the other tables
    assert sorted(index["genre"].unique()) == ["hip-hop", "old-time-historic", "soul-rnb"]
    skipped = dict(pd.read_csv(raw / "skipped.csv").itertuples(index=False))
    assert skipped[f"fma_small/099/{ERRATUM}.mp3"] == fma.errata()[ERRATUM]
    assert skipped[f"fma_small/000/{NO_GENRE}.mp3"] == fma.NO_GENRE
    assert skipped["fma_small/README.txt"] == fma.NOT_A_CLIP
    assert "6 clips from fma_small (download)" in text
    assert f"archive used: {fma.AUDIO['small'].url} (sha1 {sha1(audio)}, as published)" in text
    names = {remote.pooch.utils.unique_file_name(m.url) for m in (fma.METADATA, fma.AUDIO["small"])}
    assert {p.name for p in cache.iterdir()} == names  # archives only: extractions removed

    dataset.download(DataParams(source="fma", duration_s=1.0), raw, cache_dir=cache)
    assert len(log) == 3  # the cached archives are used again


def test_fma_genres_and_a_corrupt_archive_through_the_download(fma_host, tmp_path):
    fake, audio, _, _ = fma_host
    data = DataParams(source="fma", duration_s=1.0, genres=["soul-rnb", "hip-hop"])
    text = dataset.download(data, tmp_path / "raw", cache_dir=tmp_path / "cache")
    assert "4 clips from fma_small" in text
    assert "left out by data.genres: old-time-historic (2 clips)" in text
    audio.write_bytes(audio.read_bytes()[:1000])  # the host now serves a broken archive
    (tmp_path / "cache" / remote.pooch.utils.unique_file_name(fma.AUDIO["small"].url)).unlink()
    with pytest.raises(GenreError) as err:
        dataset.download(data, tmp_path / "raw", cache_dir=tmp_path / "cache")
    assert "is corrupt (its sha1 is not " in str(err.value) and "\n" not in str(err.value)
