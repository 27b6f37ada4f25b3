"""Fault battery, hostile archives (issue 20, causes 3 and 4): extraction is bounded by the data
set's Limits (declared sizes checked before anything is written, bytes counted as written, a
tar stream read no further than those allow), and every failure to read an archive is ONE
ArchiveError line naming it, so the next mirror is tried. The bombs here are made small by
small limits: they decompress to a few MB at most."""

import gzip
import io
import struct
import tarfile
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
import soundfile as sf
from test_remote import (
    GENRES3,
    SR,
    TINY_LENGTHS,
    add_tar,
    md5,
    mini_zip,
    repack_tar,
    server,  # noqa: F401 - a fixture
)

from genre.errors import GenreError
from genre.sources import dataset, local, remote

MB = 1_000_000
SMALL = remote.Limits(total_bytes=4 * MB, member_bytes=1 * MB, members=100)


def one_line(err: pytest.ExceptionInfo, archive: Path) -> str:
    message = str(err.value)
    assert "\n" not in message and str(archive) in message
    return message


def zeros_zip(path: Path, sizes: dict[str, int]) -> Path:
    """A deflated zip of members of zeros: 1000:1, so MBs declared in KBs."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, size in sizes.items():
            with zf.open(name, "w", force_zip64=size > 2**31) as out:
                for start in range(0, size, MB):
                    out.write(bytes(min(MB, size - start)))
    return path


def zeros_tar(path: Path, sizes: dict[str, int], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tf:
        for name, size in sizes.items():
            info = tarfile.TarInfo(name)
            info.size = size
            tf.addfile(info, _Zeros(size))
    return path


class _Zeros(io.RawIOBase):
    """`size` zero bytes as a file, never held in memory at once."""

    def __init__(self, size: int):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def octal(value: int, width: int) -> bytes:
    return f"{value:0{width - 1}o}".encode() + b"\0"


def gnu_header(name: str, *, size: int, kind: bytes, extra: dict[int, bytes] = None) -> bytes:
    """A 512-byte GNU tar header by hand (what tarfile cannot write: old sparse members,
    forged sizes), with its checksum."""
    block = bytearray(512)
    block[0 : len(name)] = name.encode()
    block[100:108] = octal(0o644, 8)
    block[108:116] = octal(0, 8)
    block[116:124] = octal(0, 8)
    block[124:136] = octal(size, 12) if size >= 0 else b"\xff" + (size % 256**11).to_bytes(11)
    block[136:148] = octal(0, 12)
    block[156:157] = kind
    block[257:265] = b"ustar  \0"
    for offset, value in (extra or {}).items():
        block[offset : offset + len(value)] = value
    block[148:156] = b" " * 8
    block[148:156] = f"{sum(block):06o}".encode() + b"\0 "
    return bytes(block)


def wav_header(data_bytes: int) -> bytes:
    """The 44 bytes of a 16-bit mono 22050 Hz WAV header claiming data_bytes of samples."""
    header = io.BytesIO()
    sf.write(header, [0.0], SR, format="WAV", subtype="PCM_16")
    wav = bytearray(header.getvalue()[:44])
    wav[40:44] = struct.pack("<I", data_bytes)
    return bytes(wav)


def sparse_tar(path: Path, *, realsize: int, extended: bool = False, end: bool = True) -> Path:
    """An old GNU sparse member: 44 stored bytes (a WAV header claiming realsize), the rest of
    its realsize holes. Gzipped, a few hundred bytes."""
    wav = wav_header(min(realsize - 44, 0xFFFFFFFF))
    extra = {386: octal(0, 12), 398: octal(44, 12), 483: octal(realsize, 12)}
    if extended:
        extra[482] = b"\x01"
    data = gnu_header("genres/rock/rock.00000.wav", size=44, kind=b"S", extra=extra)
    if not extended:
        data += wav + bytes(512 - 44)
    if end:
        data += bytes(1024)
    path.write_bytes(gzip.compress(data))
    return path


def patch_zip(path: Path, *, flags: int = 0, method: int | None = None, name: bytes = b"") -> Path:
    """Set flag bits, the compression method or the name bytes (same length) of every member,
    in both its local header and the central directory."""
    data = bytearray(path.read_bytes())
    places = ((b"PK\x03\x04", 6, 8, 30), (b"PK\x01\x02", 8, 10, 46))  # local, central
    for signature, flag_at, method_at, name_at in places:
        start = data.find(signature)
        while start != -1:
            flag = struct.unpack_from("<H", data, start + flag_at)[0]
            struct.pack_into("<H", data, start + flag_at, flag | flags)
            if method is not None:
                struct.pack_into("<H", data, start + method_at, method)
            if name:
                data[start + name_at : start + name_at + len(name)] = name
            start = data.find(signature, start + 4)
    path.write_bytes(bytes(data))
    return path


def stored_zip(path: Path, name: str = "gtzan_mini-main/README.md") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(name, "mini GTZAN\n")
    return path


# --- bombs ----------------------------------------------------------------------------------


def test_a_zip_bomb_member_is_refused_before_anything_is_written(tmp_path):
    archive = zeros_zip(tmp_path / "bomb.zip", {"a/big.wav": 8 * MB})
    assert archive.stat().st_size < 20_000
    dest = tmp_path / "out"
    with pytest.raises(remote.ArchiveError) as err:
        remote.extract(archive, dest, limits=SMALL)
    assert one_line(err, archive) == (
        f"{archive}: refusing the archive: member 'a/big.wav' is 8,000,000 bytes, more than "
        "this data set holds (a zip or tar bomb, or not the data set); delete it and run again, "
        "or use another copy"
    )
    assert not any(dest.iterdir())


def test_a_zip_of_many_members_is_refused_by_their_total(tmp_path):
    archive = zeros_zip(tmp_path / "many.zip", {f"a/{n}.wav": 900_000 for n in range(6)})
    with pytest.raises(remote.ArchiveError, match=r"its members hold more than 4,000,000 bytes"):
        remote.extract(archive, tmp_path / "out", limits=SMALL)
    assert not any((tmp_path / "out").iterdir())


def test_a_zip_listing_more_entries_than_the_data_set_is_refused(tmp_path):
    archive = zeros_zip(tmp_path / "list.zip", {f"a/{n}.txt": 1 for n in range(101)})
    with pytest.raises(remote.ArchiveError, match=r"it lists 101 entries, more than this data"):
        remote.extract(archive, tmp_path / "out", limits=SMALL)


@pytest.mark.parametrize("mode", ["w:gz", "w:bz2"])
def test_a_tar_bomb_is_refused_at_its_header_without_decompressing_it(tmp_path, monkeypatch, mode):
    archive = zeros_tar(tmp_path / "bomb.tar", {"a/small.txt": 10, "a/big.wav": 50 * MB}, mode)
    farthest = []
    real = remote._Bounded.read

    def read(self, size=-1):
        farthest.append(self.raw.tell() + size)
        return real(self, size)

    monkeypatch.setattr(remote._Bounded, "read", read)
    dest = tmp_path / "out"
    with pytest.raises(remote.ArchiveError) as err:
        remote.extract(archive, dest, limits=SMALL)
    assert "member 'a/big.wav' is 50,000,000 bytes" in one_line(err, archive)
    assert max(farthest) < 10_000  # its 50 MB of zeros were never decompressed
    assert not any(dest.iterdir())


def test_a_tar_of_many_members_is_refused_by_their_total_before_reading_past_it(tmp_path):
    archive = zeros_tar(tmp_path / "many.tar.gz", {f"a/{n}.wav": 900_000 for n in range(50)})
    start = time.perf_counter()
    with pytest.raises(remote.ArchiveError, match=r"its members hold more than 4,000,000 bytes"):
        remote.extract(archive, tmp_path / "out", limits=SMALL)
    assert time.perf_counter() - start < 5
    assert not any((tmp_path / "out").iterdir())


def test_a_huge_pax_header_is_refused_before_tarfile_reads_it_into_memory(tmp_path):
    archive = tmp_path / "pax.tar.gz"
    with tarfile.open(archive, "w:gz", format=tarfile.PAX_FORMAT) as tf:
        info = tarfile.TarInfo("a/x.txt")
        info.pax_headers = {"comment": "x" * 20 * MB}
        tf.addfile(info, io.BytesIO(b""))
    tracemalloc.start()
    with pytest.raises(remote.ArchiveError) as err:
        remote.extract(archive, tmp_path / "out", limits=remote.GTZAN_LIMITS)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "refusing the archive: a tar header of 20,000," in one_line(err, archive)
    assert peak < 4 * MB  # tarfile alone would hold the 20 MB header


def test_a_sparse_tar_member_claiming_4_gb_is_refused_at_its_header(tmp_path):
    """244 bytes of tar.gz whose member would extract to a 4 GB file of holes, and whose WAV
    header claims 4 GB: refused with GTZAN's own limits, nothing written."""
    archive = sparse_tar(tmp_path / "sparse.tar.gz", realsize=4_000_000_044)
    assert archive.stat().st_size < 400
    with tarfile.open(archive) as tf:
        (member,) = tf.getmembers()
        assert member.issparse() and member.size == 4_000_000_044
    dest = tmp_path / "out"
    with pytest.raises(remote.ArchiveError) as err:
        remote.extract(archive, dest, limits=remote.GTZAN_LIMITS, keep=remote.is_gtzan_clip)
    assert "member 'genres/rock/rock.00000.wav' is 4,000,000,044 bytes" in one_line(err, archive)
    assert not any(dest.iterdir())


def test_a_small_sparse_member_extracts_with_its_holes_written_and_counted(tmp_path):
    archive = sparse_tar(tmp_path / "sparse.tar.gz", realsize=600_044)
    remote.extract(archive, tmp_path / "out", limits=SMALL)
    written = tmp_path / "out" / "genres" / "rock" / "rock.00000.wav"
    assert written.stat().st_size == 600_044
    assert sf.info(written).frames == 300_000


def test_the_gtzan_check_reads_no_more_of_a_clip_than_gtzans_track_holds(tmp_path):
    """A clip whose header claims 4 GB (a 4 GB sparse file on disk): refused from its header,
    unread (unbounded: 4-8 GiB allocated)."""
    folder = tmp_path / "genres" / "rock"
    folder.mkdir(parents=True)
    path = folder / "rock.00000.wav"
    with open(path, "wb") as f:
        f.write(wav_header(4_000_000_000))
        f.truncate(44 + 4_000_000_000)
    tracemalloc.start()
    with pytest.raises(GenreError) as err:
        remote.check_gtzan_content(tmp_path, expected={"rock.00000": SR})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert str(err.value) == "rock.00000 has 2000000000 samples, GTZAN's track has 22050"
    assert peak < 1 * MB


# --- every failure to read is one ArchiveError ------------------------------------------------


def encrypted(tmp_path):
    return patch_zip(stored_zip(tmp_path / "locked.zip"), flags=0x1)


def unknown_method(tmp_path):
    return patch_zip(stored_zip(tmp_path / "method.zip"), method=99)


def bad_utf8_name(tmp_path):
    return patch_zip(stored_zip(tmp_path / "name.zip", "abc.txt"), flags=0x800, name=b"\xff\xfe")


def bad_crc(tmp_path):
    path = stored_zip(tmp_path / "crc.zip")
    data = path.read_bytes().replace(b"mini GTZAN", b"mini GTZAM")
    path.write_bytes(data)
    return path


def pax_sparse_size(tmp_path):
    path = tmp_path / "pax.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tf:
        info = tarfile.TarInfo("a/x.txt")
        info.pax_headers = {"GNU.sparse.size": "abc"}
        tf.addfile(info, io.BytesIO(b""))
    return path


def sparse_cut_short(tmp_path):
    return sparse_tar(tmp_path / "cut.tar.gz", realsize=1000, extended=True, end=False)


def negative_size(tmp_path):
    path = tmp_path / "negative.tar.gz"
    path.write_bytes(gzip.compress(gnu_header("a/x.txt", size=-4096, kind=b"0") + bytes(1024)))
    return path


def corrupt_bz2(tmp_path):
    path = zeros_tar(tmp_path / "data.tar.bz2", {"a/x.txt": 1000}, "w:bz2")
    data = bytearray(path.read_bytes())
    data[20:40] = bytes(20)
    path.write_bytes(bytes(data))
    return path


def xz_tar(tmp_path):
    return zeros_tar(tmp_path / "data.tar.xz", {"a/x.txt": 10}, "w:xz")


def truncated_gz(tmp_path):
    path = zeros_tar(tmp_path / "cut.tar.gz", {"a/x.txt": 200_000})
    path.write_bytes(path.read_bytes()[:-30])
    return path


def zip_version_99(tmp_path):
    path = stored_zip(tmp_path / "version.zip")
    data = bytearray(path.read_bytes())
    struct.pack_into("<B", data, data.find(b"PK\x01\x02") + 6, 99)  # version needed: 9.9
    path.write_bytes(bytes(data))
    return path


def corrupt_member(method: int):
    def build(tmp_path):
        path = tmp_path / f"method{method}.zip"
        with zipfile.ZipFile(path, "w", method) as zf:
            zf.writestr("a/x.txt", bytes(range(256)) * 64)
        data = bytearray(path.read_bytes())
        start = data.find(b"PK\x03\x04") + 30 + len("a/x.txt")
        data[start + 8 : start + 40] = b"\xa5" * 32  # inside the compressed data
        path.write_bytes(bytes(data))
        return path

    build.__name__ = f"corrupt_{zipfile.compressor_names[method]}_member"
    return build


def bad_gzip_header(tmp_path):
    path = tmp_path / "header.tar.gz"
    path.write_bytes(b"\x1f\x8b\x09" + bytes(100))  # compression method 9: not deflate
    return path


HOSTILE = {  # builder -> what the line says (the exception inside, for the reader)
    encrypted: "holds an encrypted member 'gtzan_mini-main/README.md', which cannot be read",
    unknown_method: "member 'gtzan_mini-main/README.md' uses compression method 99",
    bad_utf8_name: "corrupt (a malformed header: 'utf-8' codec can't",  # UnicodeDecodeError
    bad_crc: "the archive is truncated or corrupt (Bad CRC-32",  # BadZipFile, while extracting
    pax_sparse_size: "corrupt (a malformed header: invalid literal for int()",  # ValueError
    sparse_cut_short: "corrupt (a malformed header: index out of range)",  # IndexError
    negative_size: "the archive is truncated or corrupt (member 'a/x.txt' has a negative size)",
    corrupt_bz2: "the archive is truncated or corrupt (Invalid data stream)",  # OSError (bz2)
    xz_tar: "is compressed in a way that cannot be read (xz-compressed tar archives",
    truncated_gz: "the archive is truncated or corrupt (Compressed file ended",  # EOFError
    zip_version_99: "uses a zip feature that cannot be read (zip file version 9.9)",
    corrupt_member(zipfile.ZIP_DEFLATED): "truncated or corrupt (Error -3 while decompressing",
    corrupt_member(zipfile.ZIP_LZMA): "the archive is truncated or corrupt (",  # LZMAError
    corrupt_member(zipfile.ZIP_BZIP2): "the archive is truncated or corrupt (",  # OSError
    bad_gzip_header: "the archive is truncated or corrupt (Unknown compression method)",
}


@pytest.mark.parametrize("build", HOSTILE, ids=[f.__name__ for f in HOSTILE])
def test_every_failure_to_read_an_archive_is_one_archive_error(tmp_path, build):
    archive = build(tmp_path)
    dest = tmp_path / "out"
    with pytest.raises(remote.ArchiveError) as err:
        remote.extract(archive, dest, limits=SMALL)
    message = one_line(err, archive)
    assert HOSTILE[build] in message, message
    assert "this is a bug" not in message


def test_plain_and_bzip2_tars_still_extract(tmp_path):
    for mode, suffix in (("w", "tar"), ("w:bz2", "tar.bz2")):
        archive = zeros_tar(tmp_path / f"ok.{suffix}", {"a/x.txt": 1000, "a/y.txt": 5}, mode)
        dest = tmp_path / suffix
        remote.extract(archive, dest, limits=SMALL)
        assert (dest / "a" / "x.txt").read_bytes() == bytes(1000)


def test_members_clashing_as_file_and_folder_are_the_archives_fault(tmp_path):
    archive = tmp_path / "clash.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        add_tar(tf, "a/x", b"file")
        add_tar(tf, "a/x/y.txt", b"under a file")
    with pytest.raises(remote.ArchiveError, match=r"member 'a/x/y\.txt' clashes with another"):
        remote.extract(archive, tmp_path / "out", limits=SMALL)


# --- through the mirrors and the download stage ------------------------------------------------


def mirrors_of(base: str, *names: str) -> tuple[remote.Mirror, ...]:
    return tuple(remote.Mirror(f"{base}/{name}") for name in names)


def test_an_encrypted_mirror_is_named_and_the_next_one_used(server, tmp_path, capsys):  # noqa: F811
    base, folder, _ = server
    patch_zip(mini_zip(folder / "locked.zip"), flags=0x1)
    mini_zip(folder / "good.zip")
    imported = remote.import_mirrors(
        mirrors_of(base, "locked.zip", "good.zip"),
        tmp_path / "raw",
        sample_rate=SR,
        limits=SMALL,
        cache_dir=tmp_path / "cache",
    )
    assert imported.origin.startswith(f"{base}/good.zip (sha256 ")
    assert sorted(p.stem for p in (tmp_path / "raw").rglob("*.wav")) == [
        f"{g}.00003" for g in GENRES3
    ]
    err = capsys.readouterr().err
    assert f"mirror failed: {base}/locked.zip refused: the archive: the archive holds an " in err
    assert "encrypted member" in err and "this is a bug" not in err


def test_a_full_disk_stops_the_mirrors_and_keeps_the_archive(server, tmp_path, monkeypatch):  # noqa: F811
    base, folder, requests = server
    repack_tar(folder / "a.tar.gz")
    repack_tar(folder / "b.tar.gz")

    def full(path, mode="r", *args, **kwargs):
        if "w" in mode:
            raise OSError(28, "No space left on device", str(path))
        return open(path, mode, *args, **kwargs)

    monkeypatch.setattr(remote, "open", full, raising=False)
    with pytest.raises(remote.ExtractionFailed) as err:
        remote.import_mirrors(
            mirrors_of(base, "a.tar.gz", "b.tar.gz"),
            tmp_path / "raw",
            sample_rate=SR,
            limits=SMALL,
            cache_dir=tmp_path / "cache",
            expected=TINY_LENGTHS,
        )
    assert "(No space left on device); check the free disk space there" in str(err.value)
    assert requests == ["/a.tar.gz"]  # the next mirror would fail the same way
    cached = remote.pooch.utils.unique_file_name(f"{base}/a.tar.gz")
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [cached]  # kept, not refused


def test_a_bomb_through_the_stage_keeps_the_previous_data_raw(server, tmp_path, monkeypatch):  # noqa: F811
    """gtzan-mini's own limits: a member of 3 MB of zeros (3 KB zipped) is no gtzan-mini clip."""
    base, folder, _ = server
    archive = mini_zip(folder / "main.zip")
    with zipfile.ZipFile(archive, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("gtzan_mini-main/genres/rock/rock.00009.wav", bytes(3 * MB))
    monkeypatch.setitem(
        dataset.ARCHIVES, "gtzan-mini", (remote.Mirror(f"{base}/main.zip", md5(archive)),)
    )
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "index.csv").write_text("old")
    with pytest.raises(GenreError) as err:
        dataset.download(dataset.DataParams(source="gtzan-mini"), raw, cache_dir=tmp_path / "c")
    message = str(err.value)
    assert "\n" not in message and message.startswith("no mirror worked (")
    assert "member 'gtzan_mini-main/genres/rock/rock.00009.wav' is 3,000,000 bytes" in message
    assert (raw / "index.csv").read_text() == "old"
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["raw"]


def test_gtzan_mini_lists_its_readme_as_not_audio(server, tmp_path):  # noqa: F811
    base, folder, _ = server
    archive = mini_zip(folder / "main.zip")
    imported = remote.import_archive(
        f"{base}/main.zip",
        tmp_path / "raw",
        known_hash=md5(archive),
        sample_rate=SR,
        limits=remote.GTZAN_MINI_LIMITS,
        cache_dir=tmp_path / "cache",
    )
    assert imported.skipped == [("gtzan_mini-main/README.md", local.NOT_AUDIO)]


def test_the_data_sets_limits_hold_the_real_data_sets():
    """GTZAN's 1000 tracks (the shipped lengths) and mirdata's 100 fit, with room for their
    lists and AppleDouble entries; a clip is far under a member's bound."""
    lengths = remote.gtzan_lengths()
    clips = sum(2 * n + 44 for n in lengths.values())
    assert clips < remote.GTZAN_LIMITS.total_bytes < 1.2 * clips
    assert 2 * max(lengths.values()) + 44 < remote.GTZAN_LIMITS.member_bytes
    assert 2 * len(lengths) + 20 < remote.GTZAN_LIMITS.members
    assert remote.GTZAN_MINI_LIMITS.total_bytes > 100 * (2 * 675808 + 44)
    assert dataset.LIMITS == {
        "gtzan": remote.GTZAN_LIMITS,
        "gtzan-mini": remote.GTZAN_MINI_LIMITS,
    }
    assert set(dataset.LIMITS) == set(dataset.ARCHIVES)
