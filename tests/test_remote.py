"""Downloading GTZAN archives from a local HTTP server: checksums, caching, safe extraction."""

import functools
import hashlib
import http.server
import io
import re
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
from genre.sources import dataset, remote

SR = 22050
GENRES3 = ("blues", "jazz", "rock")
TINY_LENGTHS = {f"{g}.0000{n}": SR for g in GENRES3 for n in range(2)}  # gtzan_tar's clips
SAMPLE = Path(__file__).parents[1] / ".." / "shared" / "gtzan-sample"
LIMITS = remote.GTZAN_MINI_LIMITS  # the tiny archives here are far within them


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
            marker = folder / f"{self.path.lstrip('/')}.cut"  # cut this transfer short, once
            if marker.exists():
                marker.unlink()
                data = (folder / self.path.lstrip("/")).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.close_connection = True
                return
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(folder))
    )
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
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
    monkeypatch.setitem(
        dataset.ARCHIVES, "gtzan", (remote.Mirror(f"{base}/genres.tar.gz", md5(archive)),)
    )
    monkeypatch.setattr(remote, "gtzan_lengths", lambda: TINY_LENGTHS)
    raw, cache = tmp_path / "data" / "raw", tmp_path / "cache"
    data = dataset.DataParams(source="gtzan")

    text = dataset.download(data, raw, cache_dir=cache)

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
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert f"archive used: {base}/genres.tar.gz (sha256 {sha})" in text
    # cached: a second run verifies the cached archive instead of downloading it again
    dataset.download(data, raw, cache_dir=cache)
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
        limits=LIMITS,
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
            limits=LIMITS,
            cache_dir=tmp_path / "cache",
        )
    assert not out.exists()


def test_truncated_zip_is_a_clear_error(tmp_path):
    whole = mini_zip(tmp_path / "whole.zip").read_bytes()
    (tmp_path / "cut.zip").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(GenreError, match=r"cut\.zip: the archive is truncated or corrupt"):
        remote.extract(tmp_path / "cut.zip", tmp_path / "out", limits=LIMITS)


def test_extraction_failure_is_a_clear_error(tmp_path):
    archive = gtzan_tar(tmp_path / "genres.tar.gz")
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(GenreError, match=r"cannot extract .*genres\.tar\.gz into .*file \("):
        remote.extract(archive, tmp_path / "file", limits=LIMITS)


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
        remote.extract(archive, dest, limits=LIMITS)
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
        remote.extract(archive, dest, limits=LIMITS)
    assert not any(dest.iterdir()) and not (tmp_path / "evil.txt").exists()


def test_unsafe_archive_through_the_stage_keeps_the_old_data_raw(server, tmp_path, monkeypatch):
    base, folder, _ = server
    archive = gtzan_tar(folder / "genres.tar.gz", extra=[("../evil.txt", b"x", {})])
    monkeypatch.setitem(
        dataset.ARCHIVES, "gtzan", (remote.Mirror(f"{base}/genres.tar.gz", md5(archive)),)
    )
    monkeypatch.setattr(remote, "gtzan_lengths", lambda: TINY_LENGTHS)
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "index.csv").write_text("old")
    with pytest.raises(GenreError, match=r"unsafe archive member '\.\./evil\.txt'"):
        dataset.download(dataset.DataParams(source="gtzan"), raw, cache_dir=tmp_path / "c")
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


def test_an_archive_of_a_bad_genre_name_names_the_file_inside_the_archive(server, tmp_path):
    base, folder, _ = server
    archive = folder / "odd.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        add_tar(tf, "genres/hip hop/hip hop.00000.au", clip_bytes())
    with pytest.raises(
        GenreError,
        match=r"-odd\.tar\.gz/genres/hip hop/hip hop\.00000\.au: genre name "
        r"'hip hop' is not usable",
    ):
        remote.import_archive(
            f"{base}/odd.tar.gz",
            tmp_path / "raw",
            known_hash=md5(archive),
            sample_rate=SR,
            limits=LIMITS,
            cache_dir=tmp_path / "cache",
        )


def test_cache_dir_defaults_to_the_os_cache_and_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(remote.CACHE_ENV, raising=False)
    assert remote.default_cache_dir() == Path(remote.pooch.os_cache("genre"))
    monkeypatch.setenv(remote.CACHE_ENV, str(tmp_path))
    assert remote.default_cache_dir() == tmp_path


# --- full GTZAN: mirrors tried in order, checked by content -------------------------------


def repack_tar(path: Path, *, fmt="WAV", lengths=None, rate=SR, channels=1, apple=True) -> Path:
    """A tiny repack like Hugging Face's: genres/<genre>/<genre>.0000N.wav, with macOS `._*`
    AppleDouble entries beside the clips (and one for the genres folder)."""
    lengths = TINY_LENGTHS if lengths is None else lengths
    suffix = fmt.lower()
    with tarfile.open(path, "w:gz") as tf:
        if apple:
            add_tar(tf, "._genres", b"\x00\x05\x16\x07Mac OS X        ")
        for i, (track, n) in enumerate(lengths.items()):
            genre = track.split(".")[0]
            t = np.arange(n) / rate
            x = 0.4 * np.sin(2 * np.pi * (220.0 + 30 * i) * t)
            buf = io.BytesIO()
            data = np.column_stack([x] * channels) if channels > 1 else x
            sf.write(buf, data, rate, format=fmt, subtype="PCM_16")
            add_tar(tf, f"genres/{genre}/{track}.{suffix}", buf.getvalue())
            if apple:
                add_tar(tf, f"genres/{genre}/._{track}.{suffix}", b"\x00\x05\x16\x07junk")
    return path


def import_tiny(mirrors, tmp_path, **kwargs):
    return remote.import_mirrors(
        mirrors,
        tmp_path / "raw",
        sample_rate=SR,
        limits=LIMITS,
        cache_dir=tmp_path / "cache",
        expected=kwargs.pop("expected", TINY_LENGTHS),
        **kwargs,
    )


def test_gtzan_mirrors_are_tried_in_order_with_the_md5_only_for_the_original():
    assert [m.url for m in remote.GTZAN_MIRRORS] == [
        "https://huggingface.co/datasets/marsyas/gtzan/resolve/main/data/genres.tar.gz",
        "https://archive.org/download/gtzan_genre/genres.tar.gz",
        "http://opihi.cs.uvic.ca/sound/genres.tar.gz",
    ]
    assert [m.md5 for m in remote.GTZAN_MIRRORS] == [None, None, remote.GTZAN_MD5]
    assert dataset.ARCHIVES["gtzan"] == remote.GTZAN_MIRRORS


def test_shipped_lengths_are_gtzans_1000_tracks():
    lengths = remote.gtzan_lengths()
    assert len(lengths) == 1000
    assert sorted({t.split(".")[0] for t in lengths}) == sorted(dataset.GENRES)
    assert {t.split(".")[1] for t in lengths} == {f"{n:05d}" for n in range(100)}
    assert min(lengths.values()) >= 660000 and max(lengths.values()) <= 675808


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="../shared/gtzan-sample (real GTZAN) is absent")
def test_shipped_lengths_are_the_samples_of_real_gtzan_clips():
    clips = sorted(SAMPLE.glob("*/*.wav"))
    assert len(clips) == 10
    for path in clips:
        data, rate = sf.read(path, dtype="int16", always_2d=True)
        assert (rate, data.shape[1]) == (SR, 1)
        assert len(data) == remote.gtzan_lengths()[path.stem], path.name


def test_first_mirror_down_the_second_is_used(server, closed_url, tmp_path, capsys):
    base, folder, requests = server
    archive = repack_tar(folder / "genres.tar.gz")
    imported = import_tiny(
        (remote.Mirror(closed_url), remote.Mirror(f"{base}/genres.tar.gz")), tmp_path
    )
    written = sorted(p.stem for p in (tmp_path / "raw").rglob("*.wav"))
    assert written == sorted(TINY_LENGTHS) and imported.skipped == []
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert imported.origin == f"{base}/genres.tar.gz (sha256 {sha})"
    err = capsys.readouterr().err
    assert f"mirror failed: cannot download {closed_url} (connection error); trying the next" in err
    assert requests == ["/genres.tar.gz"]


@pytest.mark.parametrize("fmt", ["WAV", "AU"])
def test_a_repack_with_appledouble_entries_is_accepted(server, tmp_path, fmt):
    base, folder, _ = server
    repack_tar(folder / "genres.tar.gz", fmt=fmt)
    imported = import_tiny((remote.Mirror(f"{base}/genres.tar.gz"),), tmp_path)
    raw = tmp_path / "raw"
    assert sorted(p.relative_to(raw).as_posix() for p in raw.rglob("*")) == sorted(
        [*GENRES3, *(f"{t.split('.')[0]}/{t}.wav" for t in TINY_LENGTHS)]
    )
    assert imported.skipped == [] and set(imported.notes.values()) == {""}
    for track, n in TINY_LENGTHS.items():
        assert sf.info(raw / track.split(".")[0] / f"{track}.wav").frames == n


def test_only_the_clip_members_are_extracted(tmp_path):
    archive = repack_tar(tmp_path / "genres.tar.gz")
    with tarfile.open(archive) as tf:
        names = tf.getnames()
    assert any("._" in n for n in names)
    remote.extract(archive, tmp_path / "out", limits=LIMITS, keep=remote.is_gtzan_clip)
    got = sorted(
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.*")
    )
    assert got == sorted(f"genres/{t.split('.')[0]}/{t}.wav" for t in TINY_LENGTHS)


WRONG = [
    (
        {"lengths": {**TINY_LENGTHS, "rock.00001": SR - 1}},
        r"rock\.00001 has 22049 samples, GTZAN's track has 22050",
    ),
    ({"rate": 44100}, r"blues\.00000 is 44100 Hz with 1 channel\(s\), not 22050 Hz mono"),
    ({"channels": 2}, r"blues\.00000 is 22050 Hz with 2 channel\(s\), not 22050 Hz mono"),
    (
        {"lengths": {k: v for k, v in TINY_LENGTHS.items() if k != "jazz.00001"}},
        r"expected 6 clips in 3 genres, found 5: missing 1 \(jazz\.00001\)",
    ),
    (
        {"lengths": {**TINY_LENGTHS, "pop.00000": SR}},
        r"expected 6 clips in 3 genres, found 7: unexpected 1 \(pop\.00000\)",
    ),
]


@pytest.mark.parametrize(("kind", "what"), WRONG)
def test_wrong_content_is_refused_naming_the_mirror_and_what_failed(
    server, tmp_path, capsys, kind, what
):
    base, folder, _ = server
    url = f"{base}/genres.tar.gz"
    repack_tar(folder / "genres.tar.gz", **kind)
    with pytest.raises(GenreError) as err:
        import_tiny((remote.Mirror(url),), tmp_path)
    message = str(err.value)
    assert "\n" not in message
    assert re.search(
        rf"no mirror worked \({re.escape(url)} refused: {what}\); download the Kaggle", message
    )
    assert "data.source: local" in message
    assert re.search(
        rf"mirror failed: {re.escape(url)} refused: {what}; trying the next",
        capsys.readouterr().err,
    )
    assert not (tmp_path / "raw").exists()
    assert [p.name for p in (tmp_path / "cache").iterdir()] == []  # refused copy deleted


def test_a_refused_mirror_falls_through_to_a_good_one(server, tmp_path):
    base, folder, _ = server
    repack_tar(folder / "bad.tar.gz", rate=16000)
    repack_tar(folder / "good.tar.gz", fmt="AU", apple=False)
    imported = import_tiny(
        (remote.Mirror(f"{base}/bad.tar.gz"), remote.Mirror(f"{base}/good.tar.gz")), tmp_path
    )
    assert imported.origin.startswith(f"{base}/good.tar.gz (sha256 ")


def test_every_mirror_failing_names_them_all_and_points_to_kaggle(server, closed_url, tmp_path):
    base, folder, _ = server
    archive = repack_tar(folder / "genres.tar.gz")
    mirrors = (
        remote.Mirror(closed_url),
        remote.Mirror(f"{base}/missing.tar.gz"),
        remote.Mirror(f"{base}/genres.tar.gz", md5="0" * 32),  # the original: md5 checked
    )
    with pytest.raises(GenreError) as err:
        import_tiny(mirrors, tmp_path)
    message = str(err.value)
    assert message.startswith(
        f"no mirror worked (cannot download {closed_url} (connection error) | "
    )
    assert f"cannot download {base}/missing.tar.gz (HTTP 404 " in message
    assert f"the download of {base}/genres.tar.gz is corrupt (its md5 is not {'0' * 32})" in message
    assert "kaggle.com" in message and "data.source: local" in message
    assert md5(archive) != "0" * 32


def test_an_interrupted_transfer_is_restarted(server, tmp_path, capsys):
    base, folder, requests = server
    archive = repack_tar(folder / "genres.tar.gz")
    (folder / "genres.tar.gz.cut").touch()  # the first transfer stops halfway
    imported = import_tiny((remote.Mirror(f"{base}/genres.tar.gz"),), tmp_path)
    assert requests == ["/genres.tar.gz", "/genres.tar.gz"]
    assert "interrupted" in capsys.readouterr().err
    assert len(list((tmp_path / "raw").rglob("*.wav"))) == len(TINY_LENGTHS)
    cached = tmp_path / "cache" / remote.pooch.utils.unique_file_name(f"{base}/genres.tar.gz")
    assert cached.read_bytes() == archive.read_bytes()
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [cached.name]  # no partial file
    assert hashlib.sha256(archive.read_bytes()).hexdigest() in imported.origin


def test_a_transfer_interrupted_every_time_fails_cleanly_then_recovers(
    server, tmp_path, monkeypatch
):
    """Given up on, a transfer keeps what arrived beside the cache (never as the archive) for
    the next run, which resumes it (this server ignores Range: it starts over)."""
    base, folder, _ = server
    repack_tar(folder / "genres.tar.gz")
    monkeypatch.setattr(remote, "MAX_RESUMES", 0)
    (folder / "genres.tar.gz.cut").touch()
    with pytest.raises(GenreError, match=r"cannot download .*genres\.tar\.gz \(chunked"):
        import_tiny((remote.Mirror(f"{base}/genres.tar.gz"),), tmp_path)
    cached = remote.pooch.utils.unique_file_name(f"{base}/genres.tar.gz")
    kept = [p.name for p in (tmp_path / "cache").iterdir()]
    assert cached not in kept and set(kept) <= {f"{cached}.part"}  # no half archive
    import_tiny((remote.Mirror(f"{base}/genres.tar.gz"),), tmp_path)  # the next run goes on
    assert len(list((tmp_path / "raw").rglob("*.wav"))) == len(TINY_LENGTHS)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [cached]
