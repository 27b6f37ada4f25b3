"""The FMA source from a local copy: tracks.csv, genre names, the subset, the skipped list and
the official split in index.csv, and one-line errors for a bad copy."""

import shutil
from pathlib import Path

import pandas as pd
import pytest
import soundfile as sf
from fake_fma import BIGGER, ERRATUM, NAMES, NO_GENRE, clip, write_fma, write_tracks_csv

from genre import GENRE_NAME
from genre.errors import GenreError
from genre.params import DataParams
from genre.sources import dataset, fma

# FMA's 16 top-level genres (genres.csv, top_level) and the names they get
FMA_TOP_LEVEL = {
    "Blues": "blues",
    "Classical": "classical",
    "Country": "country",
    "Easy Listening": "easy-listening",
    "Electronic": "electronic",
    "Experimental": "experimental",
    "Folk": "folk",
    "Hip-Hop": "hip-hop",
    "Instrumental": "instrumental",
    "International": "international",
    "Jazz": "jazz",
    "Old-Time / Historic": "old-time-historic",
    "Pop": "pop",
    "Rock": "rock",
    "Soul-RnB": "soul-rnb",
    "Spoken": "spoken",
}


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    """A fabricated FMA small (3 genres x 6 tracks of 1 s, and the extras), written once."""
    root = tmp_path_factory.mktemp("fma")
    write_fma(root, per_genre=6, seconds=1.0)
    return root


def fma_params(root: Path, **data) -> DataParams:
    return DataParams(**{"source": "fma", "local_path": str(root), "duration_s": 1.0, **data})


def tracks_table(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["track_id", "genre_top", "split", "subset"])


def test_fma_top_level_genres_become_genre_names():
    assert {g: fma.genre_name(g) for g in FMA_TOP_LEVEL} == FMA_TOP_LEVEL
    assert all(GENRE_NAME.fullmatch(name) for name in FMA_TOP_LEVEL.values())
    assert fma.genre_name("Électro  Swing!") == "electro-swing"
    assert [fma.genre_name(g) for g in ("", "1990s", "NaN", "???")] == [None] * 4


def test_tracks_csv_is_read_as_pandas_reads_fmas_header(copy):
    tracks = fma.read_tracks(copy / "fma_metadata/tracks.csv")
    full = pd.read_csv(copy / "fma_metadata/tracks.csv", index_col=0, header=[0, 1])
    assert list(tracks.columns) == ["track_id", "genre_top", "split", "subset"]
    assert list(tracks["track_id"]) == [f"{i:06d}" for i in full.index]  # 6 digits
    assert list(tracks["genre_top"]) == list(full["track", "genre_top"].fillna(""))
    assert list(tracks["split"]) == list(full["set", "split"])
    assert list(tracks["subset"]) == list(full["set", "subset"])


def test_a_subset_holds_the_smaller_ones_and_every_skip_is_listed():
    tracks = tracks_table(
        [
            ("000002", "Hip-Hop", "training", "small"),
            ("000003", "Rock", "test", "medium"),
            ("000004", "Rock", "validation", "large"),
            ("000005", "", "training", "small"),
            (ERRATUM, "Rock", "training", "small"),  # skipped though no file is looked at
        ]
    )
    small = fma.plan(tracks, subset="small", genres=None)
    assert small.wanted == {"fma_small/000/000002.mp3": ("000002", "hip-hop", "train")}
    assert small.skipped == [
        ("fma_small/000/000005.mp3", fma.NO_GENRE),
        (f"fma_small/099/{ERRATUM}.mp3", fma.errata()[ERRATUM]),
    ]
    medium = fma.plan(tracks, subset="medium", genres=None)
    assert sorted(v[0] for v in medium.wanted.values()) == ["000002", "000003"]
    large = fma.plan(tracks, subset="large", genres=("rock",))
    assert sorted(v for v in large.wanted.values()) == [
        ("000003", "rock", "test"),
        ("000004", "rock", "valid"),
    ]
    assert large.left_out == {"hip-hop": 1}


def test_fmas_known_faulty_clips_are_listed_with_their_source():
    broken = fma.errata()
    assert sorted(broken) == ["098565", "098567", "098569", "099134", "108925", "133297"]
    assert all("github.com/mdeff/fma/issues/" in reason for reason in broken.values())


def test_a_genre_not_in_the_subset_and_genres_that_collide_are_refused():
    tracks = tracks_table([("000002", "Rock", "training", "small")])
    with pytest.raises(GenreError) as err:
        fma.plan(tracks, subset="small", genres=("rock", "polka"))
    assert str(err.value) == (
        "data.genres: polka is not a top-level genre of fma_small (its genres: rock): remove it "
        "from data.genres"
    )
    twins = tracks_table(
        [("000002", "Hip-Hop", "test", "small"), ("000003", "Hip Hop", "test", "small")]
    )
    with pytest.raises(GenreError, match="'Hip Hop' and 'Hip-Hop' both make the genre name"):
        fma.plan(twins, subset="small", genres=None)


def test_a_local_copy_becomes_data_raw_with_the_official_split(copy, tmp_path):
    raw = tmp_path / "raw"
    text = dataset.download(fma_params(copy), raw)
    index = pd.read_csv(raw / "index.csv", dtype=str, keep_default_na=False)
    assert list(index.columns) == [*dataset.INDEX_COLUMNS, "official_split"]
    assert sorted(set(index["genre"])) == sorted(NAMES.values())
    assert index["track_id"].str.fullmatch(r"[a-z-]+\.\d{6}").all()
    assert list(index["path"]) == [f"{t.split('.')[0]}/{t}.wav" for t in index["track_id"]]
    assert (index["note"] == "down-mixed from 2 channels; resampled from 44100 Hz").all()
    sides = dict(zip(index["track_id"], index["official_split"], strict=True))
    assert [sides[f"hip-hop.00{n}002"] for n in "012345"] == ["train"] * 4 + ["valid", "test"]
    assert pd.Series(sides).value_counts().to_dict() == {"train": 12, "valid": 3, "test": 3}
    skipped = dict(pd.read_csv(raw / "skipped.csv").itertuples(index=False))
    assert skipped == {
        f"fma_small/099/{ERRATUM}.mp3": fma.errata()[ERRATUM],
        f"fma_small/000/{NO_GENRE}.mp3": fma.NO_GENRE,
        "fma_small/README.txt": fma.NOT_A_CLIP,
        "fma_small/checksums": fma.NOT_A_CLIP,
    }
    assert f"/{BIGGER}.mp3" not in " ".join(skipped)  # a track of fma_large only: not ours
    assert text.startswith(f"{raw}: 18 clips from fma_small (local folder {copy}); hip-hop 6,")
    assert f"  fma_small/099/{ERRATUM}.mp3: FMA erratum: the clip holds no audio" in text
    assert f"  1 files {fma.NO_GENRE} (fma_small/000/{NO_GENRE}.mp3)" in text
    assert f"  2 files {fma.NOT_A_CLIP} (fma_small/README.txt, fma_small/checksums)" in text


def test_data_genres_selects_fma_genres_and_counts_the_others(copy, tmp_path):
    data = fma_params(copy, genres=["soul-rnb", "hip-hop"])
    text = dataset.download(data, tmp_path / "raw")
    index = pd.read_csv(tmp_path / "raw/index.csv")
    assert sorted(set(index["genre"])) == ["hip-hop", "soul-rnb"]
    assert "left out by data.genres: old-time-historic (6 clips)" in text
    with pytest.raises(GenreError, match="data.genres: jazz is not a top-level genre of fma"):
        dataset.download(fma_params(copy, genres=["jazz", "hip-hop"]), tmp_path / "raw2")


def test_clips_are_decoded_for_data_duration_s_only(copy, tmp_path):
    root = tmp_path / "fma"
    shutil.copytree(copy, root)
    long = clip(0, 0, seconds=3.0, sample_rate=44100)
    sf.write(root / "fma_small/000/000002.mp3", long, 44100, format="MP3")
    dataset.download(fma_params(root, duration_s=1.0, sample_rate=8000), tmp_path / "raw")
    index = pd.read_csv(tmp_path / "raw/index.csv", index_col="track_id")
    assert (index["seconds"] == 1.0).all() and (index["sample_rate"] == 8000).all()
    assert index.loc["hip-hop.000002", "note"].endswith("; cut to its first 1 s")
    assert not index["note"].drop("hip-hop.000002").str.contains("cut").any()


def test_a_corrupt_and_a_missing_clip_are_skipped_with_the_reason(copy, tmp_path):
    broken = tmp_path / "fma"
    shutil.copytree(copy, broken)
    (broken / "fma_small/000/000002.mp3").write_bytes(b"ID3\x03\x00garbage" * 50)
    (broken / "fma_small/001/001009.mp3").unlink()
    (broken / "fma_small/005/005999.mp3").write_bytes(b"")  # a file tracks.csv does not list
    text = dataset.download(fma_params(broken), tmp_path / "raw")
    skipped = dict(pd.read_csv(tmp_path / "raw/skipped.csv").itertuples(index=False))
    assert skipped["fma_small/000/000002.mp3"].startswith("not readable audio")
    assert skipped["fma_small/001/001009.mp3"] == fma.MISSING
    assert skipped["fma_small/005/005999.mp3"] == fma.NOT_LISTED
    assert "  fma_small/000/000002.mp3: not readable audio" in text
    assert len(pd.read_csv(tmp_path / "raw/index.csv")) == 16


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (
            lambda root: shutil.rmtree(root / "fma_small"),
            "{root}/fma_small: folder not found; unzip fma_small.zip into {root}, or set "
            "data.fma_subset to the subset you have",
        ),
        (
            lambda root: (root / "fma_small").rename(root / "fma_medium"),
            "{root}/fma_small: folder not found (found fma_medium: set data.fma_subset to "
            "match); unzip fma_small.zip into {root}, or set data.fma_subset to the subset you "
            "have",
        ),
        (
            lambda root: (root / "fma_metadata/tracks.csv").unlink(),
            "{root}/fma_metadata/tracks.csv: not found; data.local_path must hold FMA's "
            "fma_metadata/ (unzipped fma_metadata.zip) beside fma_<subset>/",
        ),
        (
            lambda root: (root / "fma_metadata/tracks.csv").write_text("track_id,genre\n2,Rock\n"),
            "{root}/fma_metadata/tracks.csv: does not start with FMA's header (two rows of "
            "column names, then a row `track_id`): use FMA's own tracks.csv",
        ),
        (
            lambda root: write_tracks_csv(
                root / "fma_metadata/tracks.csv", tracks_table([("2", "Rock", "test", "small")])
            ).write_text(
                (root / "fma_metadata/tracks.csv").read_text().replace(",split,", ",spilt,", 1)
            ),
            "{root}/fma_metadata/tracks.csv: has no column (set, split): it is not FMA's "
            "tracks.csv (from fma_metadata.zip); use FMA's own file",
        ),
        (
            lambda root: write_tracks_csv(
                root / "fma_metadata/tracks.csv",
                tracks_table([("2", "Rock", "test", "small"), ("2", "Pop", "test", "small")]),
            ),
            "{root}/fma_metadata/tracks.csv: lists track 000002 twice: use FMA's own tracks.csv",
        ),
        (
            lambda root: (root / "fma_metadata/tracks.csv").write_bytes(b"\xff\xfe\x00a,b\n"),
            "{root}/fma_metadata/tracks.csv: is not a CSV text table",
        ),
    ],
    ids=["no subset", "another subset", "no tracks.csv", "not fma", "no column", "twice", "binary"],
)
def test_a_bad_copy_is_one_line(copy, tmp_path, breakage, message):
    root = tmp_path / "fma"
    shutil.copytree(copy, root)
    breakage(root)
    with pytest.raises(GenreError) as err:
        dataset.download(fma_params(root), tmp_path / "raw")
    assert str(err.value).startswith(message.format(root=root))
    assert "\n" not in str(err.value) and not (tmp_path / "raw").exists()


def test_fma_params():
    data = DataParams(source="fma", genres=["hip-hop", "old-time-historic"])
    assert data.fma_subset == "small" and data.local_path is None  # null: download it
    assert DataParams(source="fma", fma_subset="large").fma_subset == "large"
    with pytest.raises(GenreError) as err:
        DataParams(source="fma", fma_subset="full")
    assert str(err.value) == (
        "params.yaml: data.fma_subset must be one of small, medium, large; got 'full'"
    )


def test_the_download_stage_says_a_bad_copy_in_one_line(copy, tmp_path, monkeypatch, capsys):
    from genre.errors import run_cli
    from genre.stages import download

    root = tmp_path / "fma"
    shutil.copytree(copy, root)
    shutil.rmtree(root / "fma_small")
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    (tmp_path / "project/params.yaml").write_text(
        f"data: {{source: fma, local_path: '{root}', duration_s: 1}}\n"
    )
    with pytest.raises(SystemExit) as exit_:
        run_cli(download.main)
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 1 and len(lines) == 1
    assert lines[0].startswith(f"error: {root}/fma_small: folder not found; unzip fma_small.zip")
    assert not (tmp_path / "project/data/raw").exists()
