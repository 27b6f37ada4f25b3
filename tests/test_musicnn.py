"""genre.features.musicnn: the port against musicnn's own graph, preprocessing, weights, patches."""

import hashlib
import importlib.util
import re
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

from genre.errors import GenreError
from genre.features import musicnn
from genre.features.layout import PATCH_SECONDS

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "data" / "musicnn_reference.npz"
WEIGHTS = ROOT / "src" / "genre" / "resources" / "musicnn" / "msd_musicnn.weights.npz"
SR = 16000


@pytest.fixture(scope="module")
def model():
    """The model, loaded once for this module's tests (load_model caches it per process)."""
    return musicnn.load_model()


def clip(path: Path) -> tuple[np.ndarray, int]:
    samples, rate = sf.read(path, dtype="float32")
    return samples, rate


def tone(seconds: float, *, sr: int = SR, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * librosa.tone(440.0, sr=sr, duration=seconds)).astype(np.float32)


# --- (a) the original graph's outputs --------------------------------------------------------


def test_matches_musicnn_graph_on_real_clips(gtzan_sample, model):
    """Our patches through our model give what musicnn's own TF1 graph gave on the same
    patches (scripts/convert_musicnn.py --reference), within 1e-4 (measured: max 2.6e-6 for
    the embedding, whose max half has the same bits, 4.2e-7 for the tags)."""
    ref = np.load(REFERENCE)
    for i, name in enumerate(ref["clips"]):
        samples, rate = clip(gtzan_sample / name.split(".")[0] / f"{name}.wav")
        embedding, tags = musicnn.predict_patches(
            musicnn.mel_patches(musicnn.resample(samples, sample_rate=rate))
        )
        n = len(ref["embedding"][i])
        np.testing.assert_allclose(embedding[:n], ref["embedding"][i], rtol=0, atol=1e-4)
        np.testing.assert_allclose(tags[:n], ref["tags"][i], rtol=0, atol=1e-4)


def test_skipped_filters_are_constant(gtzan_sample, model):
    """The filters left out as constant give the same outputs as computing them all, bit for
    bit, on real music and on the extremes of the accepted input range."""
    samples, rate = clip(gtzan_sample / "metal" / "metal.00000.wav")
    real = musicnn.mel_patches(musicnn.resample(samples, sample_rate=rate))[:4]
    rng = np.random.default_rng(0)
    shape = (musicnn.PATCH_FRAMES, musicnn.N_MELS)
    extreme = np.stack(
        [
            np.full(shape, musicnn.MAX_LOG_MEL),  # the loudest accepted input
            np.zeros(shape),  # silence
            rng.uniform(0, musicnn.MAX_LOG_MEL, shape),
            rng.choice([0, musicnn.MAX_LOG_MEL], shape),
        ]
    ).astype(np.float32)
    for patches in (real, extreme):
        fast = musicnn.predict_patches(patches)
        full = musicnn.predict_patches(patches, skip_constant=False)
        for a, b in zip(fast, full, strict=True):
            np.testing.assert_array_equal(a, b)


def test_most_frontend_filters_are_skipped(model):
    """The plan leaves out most of the front end's filters (what makes it fast)."""
    plan = musicnn.constant_plan(musicnn.read_weights())
    computed = {name: len(plan[name][0]) for name in musicnn.FRONTEND}
    assert computed["timbral_7x38"] + computed["timbral_7x67"] < 0.15 * 408
    assert sum(computed.values()) < 0.2 * 561


# --- (b) preprocessing -----------------------------------------------------------------------


def test_log_mel_is_librosas_melspectrogram_with_a_float32_log():
    y = tone(2.0)
    mel = librosa.feature.melspectrogram(
        y=y, sr=SR, n_fft=512, hop_length=256, n_mels=96, pad_mode="reflect"
    )
    expected = np.log10(10000 * mel.T.astype(np.float32) + 1)
    got = musicnn.log_mel(y)
    assert got.dtype == np.float32 and got.shape == (1 + len(y) // 256, 96)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_loud_clip_gives_finite_log_mel_where_float16_overflows():
    """musicnn's float16 log overflows to inf on loud audio; ours stays finite and in range."""
    y = np.sign(tone(3.0, amplitude=1.0)).astype(np.float32)  # a full-scale square wave
    mel = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=512, hop_length=256, n_mels=96).T
    with np.errstate(over="ignore"):
        musicnn_way = np.log10(10000 * mel.astype(np.float16) + 1)
    assert np.isinf(musicnn_way).any()  # the trap is real for this clip
    got = musicnn.log_mel(y)
    assert np.isfinite(got).all() and got.min() >= 0 and got.max() <= musicnn.MAX_LOG_MEL
    assert np.isfinite(musicnn.embed(y, sample_rate=SR)).all()


def test_resample_to_16k_with_soxr_hq():
    y = tone(1.0, sr=22050)
    out = musicnn.resample(y, sample_rate=22050)
    np.testing.assert_array_equal(
        out, librosa.resample(y, orig_sr=22050, target_sr=SR, res_type="soxr_hq")
    )
    assert len(out) == SR
    np.testing.assert_array_equal(musicnn.resample(out, sample_rate=SR), out)
    with pytest.raises(GenreError, match="mono"):
        musicnn.embed(np.stack([out, out], axis=1), sample_rate=SR)


# --- (c) the weights -------------------------------------------------------------------------


def test_weights_file_is_the_one_the_script_recorded():
    digest = hashlib.sha256(WEIGHTS.read_bytes()).hexdigest()
    assert digest == musicnn.WEIGHTS_SHA256
    readme = (WEIGHTS.parent / "README.md").read_text()
    assert re.search(rf"sha256 {digest}\s+msd_musicnn\.weights\.npz", readme)
    assert "Permission to use, copy, modify" in (WEIGHTS.parent / "LICENSE").read_text()


def test_a_changed_weights_file_is_refused(tmp_path):
    data = bytearray(WEIGHTS.read_bytes())
    data[-100] ^= 1  # one bit of one weight
    changed = tmp_path / "msd_musicnn.weights.npz"
    changed.write_bytes(bytes(data))
    with pytest.raises(GenreError, match="is not the recorded"):
        musicnn.read_weights(changed)


def test_tags_a_metal_clip_as_metal(gtzan_sample, model):
    samples, rate = clip(gtzan_sample / "metal" / "metal.00000.wav")
    tags = musicnn.tag(samples, sample_rate=rate).mean(axis=0)
    top = [musicnn.TAGS[i] for i in np.argsort(-tags)[:3]]
    assert {"metal", "heavy metal"} <= set(top), top


# --- (d) patches and the public constants -----------------------------------------------------


def test_a_30s_clip_gives_10_patches(model):
    y = tone(30.0, sr=22050, amplitude=0.3)
    embedding = musicnn.embed(y, sample_rate=22050)
    assert embedding.shape == (10, musicnn.EMBEDDING_SIZE) and embedding.dtype == np.float32
    assert len(musicnn.mel_patches(tone(30.0))) == 10


def test_a_short_clip_is_repeated_to_one_patch(model):
    """Fewer than 187 frames are tiled in time, as musicnn's training padded short clips."""
    frames = musicnn.log_mel(tone(1.0))  # 63 frames
    (patch,) = musicnn.patches(frames)
    np.testing.assert_array_equal(patch[: len(frames)], frames)
    np.testing.assert_array_equal(patch[len(frames) : 2 * len(frames)], frames)
    assert musicnn.embed(tone(1.0), sample_rate=SR).shape == (1, musicnn.EMBEDDING_SIZE)
    with pytest.raises(GenreError, match="too short"):
        musicnn.embed(np.zeros(100, np.float32), sample_rate=SR)


def test_frames_after_the_last_whole_patch_are_dropped():
    frames = np.ones((2 * musicnn.PATCH_FRAMES + 100, musicnn.N_MELS), np.float32)
    assert musicnn.patches(frames).shape == (2, musicnn.PATCH_FRAMES, musicnn.N_MELS)


def test_a_patch_gives_the_same_bits_in_any_batch(model):
    """From a batch of 2 on, a patch's outputs depend on nothing but the patch (a lone patch
    runs beside a silent one), so a clip's embedding does not depend on how it is cut."""
    noise = np.random.default_rng(1).uniform(-0.5, 0.5, 33 * SR).astype(np.float32)
    patches = musicnn.mel_patches(noise)
    assert len(patches) == 11  # 10 at once, then a lone one
    whole = musicnn.predict_patches(patches)[0]
    for part in ([10], [3], [2, 3, 4], list(range(11))[::-1]):
        np.testing.assert_array_equal(musicnn.predict_patches(patches[part])[0], whole[part])


def test_out_of_range_patches_are_refused():
    bad = np.full((1, musicnn.PATCH_FRAMES, musicnn.N_MELS), musicnn.MAX_LOG_MEL + 1, np.float32)
    with pytest.raises(GenreError, match="must lie in"):
        musicnn.predict_patches(bad)
    with pytest.raises(GenreError, match="must lie in"):
        musicnn.predict_patches(-bad)
    with pytest.raises(GenreError, match="patches must be"):
        musicnn.predict_patches(bad[0])


def test_public_constants():
    assert PATCH_SECONDS == 187 * 256 / 16000 == 2.992
    assert len(musicnn.EMBEDDING_NAMES) == len(set(musicnn.EMBEDDING_NAMES)) == 1506
    assert musicnn.EMBEDDING_NAMES[0] == "max_timbral_7x38_000"
    assert musicnn.EMBEDDING_NAMES[753] == "mean_timbral_7x38_000"
    assert len(musicnn.TAGS) == 50 and musicnn.TAGS[11] == "metal"


# --- determinism across processes and thread counts (slow: fresh TF processes) --------------


@pytest.mark.slow
def test_embedding_bits_do_not_depend_on_threads_or_process(gtzan_sample):
    """The embedding of real clips has the same bits with 1 or 2 TF threads, each in a fresh
    process (as featurize's joblib workers), and in this process."""
    spec = importlib.util.spec_from_file_location(
        "bench_embedding", ROOT / "benchmarks" / "bench_embedding.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    paths = sorted(gtzan_sample.glob("*/*.wav"))[:3]
    digests = {n: bench.run_child(n, paths, hashes_only=True)["sha256"] for n in (1, 2)}
    here = hashlib.sha256()
    for path in paths:
        samples, rate = clip(path)
        here.update(musicnn.embed(samples, sample_rate=rate).tobytes())
    assert digests[1] == digests[2] == here.hexdigest()
