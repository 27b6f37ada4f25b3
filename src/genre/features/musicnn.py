"""musicnn's MSD_musicnn tagger (Pons & Serra, 2019; ISC licence) in Keras 3: an embedding of
music audio. `embed` gives, per 2.992 s patch of log-mel frames at 16 kHz, the 1506 values the
network's back end pools (the max and mean over time of 753 feature maps); `tag` its 50 tags.

Its outputs are those of musicnn's own graph (tests/test_musicnn.py) computed 7x faster: filters
that died in training are proven constant from the weights and skipped, the front end's norm is
taken after the max over mel bands, the mid end runs as Conv1D (docs/features.md).
"""

import functools
import hashlib
import io
from importlib import resources
from pathlib import Path

import librosa
import numpy as np
from threadpoolctl import ThreadpoolController

from genre import kernels
from genre.errors import GenreError
from genre.features.layout import (
    EMBEDDING_NAMES,
    FEATURE_MAPS,
    MUSICNN_HOP,
    MUSICNN_RATE,
    PATCH_FRAMES,
)

keras = kernels.keras()  # oneDNN held to AVX2, as for training: reproducible bits
import tensorflow as tf  # noqa: E402 - after kernels.keras(): TF loads quietly, with its settings

SAMPLE_RATE, HOP_LENGTH = MUSICNN_RATE, MUSICNN_HOP
N_FFT = 512
N_MELS = 96
RES_TYPE = "soxr_hq"  # librosa's default resampler, as genre.audio.read uses
EPSILON = 1e-3  # the batch norms' epsilon (tf.compat.v1.layers' default)
# The largest log-mel value accepted. Audio of peak p reaches at most 7.35 + 2 log10(p): a
# frame's |STFT| <= 256 p (the Hann window's sum), a mel band <= 0.034 of the power spectrum.
# So 12 allows peaks up to ~200x full scale; the constant filters are proven up to it.
MAX_LOG_MEL = 12.0
BATCH = 10  # patches per model call (a 30 s clip)

EMBEDDING_SIZE = len(EMBEDDING_NAMES)  # 1506

# The 50 MSD tags in output order (musicnn/configuration.py, MSD_LABELS).
TAGS = (
    "rock",
    "pop",
    "alternative",
    "indie",
    "electronic",
    "female vocalists",
    "dance",
    "00s",
    "alternative rock",
    "jazz",
    "beautiful",
    "metal",
    "chillout",
    "male vocalists",
    "classic rock",
    "soul",
    "indie rock",
    "Mellow",
    "electronica",
    "80s",
    "folk",
    "90s",
    "chill",
    "instrumental",
    "punk",
    "oldies",
    "blues",
    "hard rock",
    "ambient",
    "acoustic",
    "experimental",
    "female vocalist",
    "guitar",
    "Hip-Hop",
    "70s",
    "party",
    "country",
    "easy listening",
    "sexy",
    "catchy",
    "funk",
    "electro",
    "heavy metal",
    "Progressive rock",
    "60s",
    "rnb",
    "indie pop",
    "sad",
    "House",
    "happy",
)

WEIGHTS = "resources/musicnn/msd_musicnn.weights.npz"
WEIGHTS_SHA256 = "199560740b29418c074a7904843a06ab1cb265dabdb9a94bacac328ae090c5d2"
FRONTEND = ("timbral_7x38", "timbral_7x67", "temporal_128", "temporal_64", "temporal_32")


# --- audio -> log-mel patches -------------------------------------------------------------


def resample(samples: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """Mono float32 audio at 16 kHz (librosa's soxr_hq: fast, and what genre.audio uses)."""
    y = np.asarray(samples, dtype=np.float32)
    if y.ndim != 1:
        raise GenreError(f"musicnn: expected mono samples [n], got an array of shape {y.shape}")
    if sample_rate == SAMPLE_RATE:
        return y
    return librosa.resample(y, orig_sr=sample_rate, target_sr=SAMPLE_RATE, res_type=RES_TYPE)


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def log_mel(samples_16k: np.ndarray) -> np.ndarray:
    """float32 [frames, 96]: musicnn's log10(10000 * mel power + 1), the log in float32
    (musicnn's float16 overflows to inf on loud audio). The STFT pads reflectively, as
    librosa did before 0.10 for musicnn; BLAS at one thread, so the bits never depend on it."""
    y = np.ascontiguousarray(samples_16k, dtype=np.float32)
    if len(y) < N_FFT:
        raise GenreError(
            f"musicnn: {len(y)} samples of audio at 16 kHz, too short for one frame: "
            f"it needs at least {N_FFT} ({N_FFT / SAMPLE_RATE * 1000:g} ms)"
        )
    with _blas().limit(limits=1, user_api="blas"):
        mel = librosa.feature.melspectrogram(
            y=y,
            sr=SAMPLE_RATE,
            n_fft=N_FFT,
            hop_length=HOP_LENGTH,
            n_mels=N_MELS,
            pad_mode="reflect",
        )
    return np.log10(np.float32(10000) * mel.T + np.float32(1))


def patches(frames: np.ndarray) -> np.ndarray:
    """Non-overlapping 187-frame patches [patches, 187, 96]; the frames after the last whole
    patch are dropped, as musicnn does. Fewer than 187 frames are repeated until they fill one
    patch, as musicnn's training padded short clips (`pad_short: repeat-pad`)."""
    if len(frames) == 0:
        raise GenreError("musicnn: no log-mel frames to cut into patches")
    if len(frames) < PATCH_FRAMES:
        frames = np.resize(frames, (PATCH_FRAMES, frames.shape[1]))  # repeats the rows
    n = len(frames) // PATCH_FRAMES
    return np.ascontiguousarray(frames[: n * PATCH_FRAMES].reshape(n, PATCH_FRAMES, -1))


def mel_patches(samples_16k: np.ndarray) -> np.ndarray:
    """float32 [patches, 187, 96]: the model's input from mono audio at 16 kHz."""
    return patches(log_mel(samples_16k))


# --- the network ----------------------------------------------------------------------------


class Norm(keras.layers.Layer):
    """Batch norm for inference by TF's fused op, the op of musicnn's graph (the same bits;
    Keras' own layer rounds differently). On [b, time, mel or 1, c] or [b, time, c]."""

    def build(self, input_shape):
        for name in ("gamma", "beta", "moving_mean", "moving_variance"):
            self.add_weight(shape=(input_shape[-1],), initializer="zeros", name=name)

    def call(self, x):
        flat = len(x.shape) == 3
        y = tf.compat.v1.nn.fused_batch_norm(
            x[:, :, None, :] if flat else x, *self.weights, epsilon=EPSILON, is_training=False
        )[0]
        return y[:, :, 0, :] if flat else y


class PoolNorm(Norm):
    """ReLU, batch norm and max over the mel bands, [b, time, mel, computed] -> [b, time, c],
    taken max first: the same bits, as rounding is monotone. A channel whose norm scales by a
    negative factor needs the min instead: its filter comes negated, and its max is negated
    back here. `constants` holds the pre-norm value of the channels not `computed`."""

    def __init__(self, *, computed: np.ndarray, constants: np.ndarray, **kwargs):
        super().__init__(**kwargs)
        self.computed, self.constants = computed, constants
        rest = np.setdiff1d(np.arange(len(constants)), computed)
        self.rest_values = constants[rest]
        self.order = np.argsort(np.concatenate([computed, rest]))

    def build(self, input_shape):
        super().build((len(self.constants),))

    def call(self, x):
        sign = keras.ops.take(keras.ops.where(self.weights[0] < 0, -1.0, 1.0), self.computed)
        pooled = keras.ops.relu(keras.ops.max(x, axis=2) * sign)
        if len(self.rest_values):
            rest = keras.ops.zeros_like(pooled[:, :, :1]) + self.rest_values
            pooled = keras.ops.take(keras.ops.concatenate([pooled, rest], -1), self.order, axis=2)
        return super().call(pooled)


def _frontend(x, plan: dict):
    """The five front-end feature maps, each [b, 187, filters], from [b, 187, 96, 1]."""
    padded = keras.layers.ZeroPadding2D(((3, 3), (0, 0)))(x)  # 'same' in time only
    shapes = {
        "timbral_7x38": (7, 38),
        "timbral_7x67": (7, 67),
        "temporal_128": (128, 1),
        "temporal_64": (64, 1),
        "temporal_32": (32, 1),
    }
    maps = []
    for name, kernel in shapes.items():
        computed, constants = plan[name]
        if name.startswith("timbral"):
            conv = keras.layers.Conv2D(len(computed), kernel, name=name)(padded)
        else:
            conv = keras.layers.Conv2D(len(computed), kernel, padding="same", name=name)(x)
        norm = PoolNorm(computed=computed, constants=constants, name=f"{name}_norm")
        maps.append(norm(conv))
    return maps


def _midend(x):
    """The three mid-end layers [b, 187, 64] (the second and third residual) from the front
    end's [b, 187, 561]. musicnn convolves [time, features, 1] with 7 x features kernels: the
    same sums as a Conv1D over the features as channels, which oneDNN runs 5x faster."""
    outputs = []
    for i in (1, 2, 3):
        y = keras.layers.ZeroPadding1D(3)(x)
        y = keras.layers.Conv1D(64, 7, activation="relu", name=f"midend_{i}")(y)
        y = Norm(name=f"midend_{i}_norm")(y)
        x = y if i == 1 else keras.layers.Add()([y, x])
        outputs.append(x)
    return outputs


def _time_mean(x):
    """The mean over time [b, time, c] -> [b, c], summed along the last axis: TF's mean over a
    middle axis rounds differently by the patch's place in the batch (~1e-6)."""
    return keras.ops.mean(keras.ops.transpose(x, (0, 2, 1)), axis=-1)


def build(plan: dict | None = None) -> keras.Model:
    """MSD_musicnn for inference, weights not set: [b, 187, 96] log-mel patches ->
    (embedding [b, 1506], tags [b, 50]). `plan` (from `constant_plan`) leaves out the
    front-end filters with a constant output; None computes them all."""
    if plan is None:
        size = dict(FEATURE_MAPS)
        plan = {n: (np.arange(size[n]), np.zeros(size[n], np.float32)) for n in FRONTEND}
    inputs = keras.Input((PATCH_FRAMES, N_MELS), name="log_mel")
    x = keras.layers.Reshape((PATCH_FRAMES, N_MELS, 1))(inputs)
    x = Norm(name="input_norm")(x)
    front = keras.layers.Concatenate()(_frontend(x, plan))  # [b, 187, 561]
    maps = keras.layers.Concatenate()([front, *_midend(front)])  # [b, 187, 753]
    embedding = keras.layers.Concatenate(name="embedding")(
        [keras.ops.max(maps, axis=1), _time_mean(maps)]
    )
    hidden = keras.layers.Dense(200, activation="relu", name="dense")(embedding)
    tags = keras.layers.Dense(50, activation="sigmoid", name="tags")(hidden)
    return keras.Model(inputs, [embedding, tags], name="msd_musicnn")


# --- which filters are constant -------------------------------------------------------------


def constant_channels(kernel, bias, *, low: float, high: float):
    """Which output channels of a convolution + ReLU give one value for every input in
    [low, high] (low <= 0 <= high, so zero padding is inside): those whose output is surely
    negative (ReLU gives 0), and those whose weights cannot move the bias by half a float32
    step, summed in any order (ReLU gives relu(bias)); float32 rounding bounded with margin.
    Returns the mask of constant channels and their float32 values after the ReLU."""
    k = np.asarray(kernel, np.float64).reshape(-1, kernel.shape[-1])
    b = np.asarray(bias, np.float64)
    reach = np.abs(k).sum(axis=0) * max(-low, high)  # bound on |sum of products|
    top = b + np.maximum(k * low, k * high).sum(axis=0)  # largest output
    negative = top + 2 * len(k) * 2.0**-24 * (reach + np.abs(b)) < 0
    still = reach < np.spacing(np.abs(np.asarray(bias, np.float32))) / 8
    values = np.where(negative, 0, np.maximum(bias, 0)).astype(np.float32)
    return negative | still, values


def constant_plan(weights: dict) -> dict:
    """Per front-end layer: (indices of the filters to compute, the pre-norm value of every
    filter's pooled output, used for the others), for log-mel inputs in [0, MAX_LOG_MEL].
    Some constant filters are computed too, to make a multiple of 8 (oneDNN's vector width:
    29 filters take longer than 32)."""
    gamma, beta, mean, var = (
        weights[f"input_norm/{k}"].astype(np.float64)[0]
        for k in ("gamma", "beta", "moving_mean", "moving_variance")
    )
    scale = gamma / np.sqrt(var + EPSILON)
    ends = sorted([beta - mean * scale, beta + (MAX_LOG_MEL - mean) * scale])
    low, high = min(ends[0], 0.0) - 1e-3, max(ends[1], 0.0) + 1e-3  # the norm's output
    plan = {}
    for name in FRONTEND:
        # The file's filters are negated where the norm's scale is: undo it for the proof.
        sign = np.where(weights[f"{name}_norm/gamma"] < 0, -1, 1).astype(np.float32)
        constant, values = constant_channels(
            weights[f"{name}/kernel"] * sign, weights[f"{name}/bias"] * sign, low=low, high=high
        )
        extra = -np.count_nonzero(~constant) % 8
        constant[np.flatnonzero(constant)[:extra]] = False
        plan[name] = (np.flatnonzero(~constant), values)
    return plan


# --- weights and inference -----------------------------------------------------------------


def read_weights(path=None) -> dict[str, np.ndarray]:
    """The weights (the committed file, or `path`) by "<layer>/<weight>"; refused unless the
    file's sha256 is the one recorded when it was made."""
    name = str(path or WEIGHTS)
    data = (Path(path) if path else resources.files("genre").joinpath(WEIGHTS)).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise GenreError(
            f"{name}: sha256 {digest} is not the recorded {WEIGHTS_SHA256}: not the weights "
            "scripts/convert_musicnn.py made; restore the file (git checkout) or rerun it"
        )
    with np.load(io.BytesIO(data)) as arrays:
        return {key: arrays[key] for key in arrays.files}


@functools.cache
def load_model(*, skip_constant: bool = True) -> keras.Model:
    """The model with its weights, once per process; `skip_constant=False` computes every
    front-end filter (the same outputs, slower: for checking the proof). Its input must lie
    in [0, MAX_LOG_MEL], as log-mel patches do (predict_patches checks)."""
    weights = read_weights()
    plan = constant_plan(weights) if skip_constant else None
    model = build(plan)
    for layer in model.layers:
        if not layer.weights:
            continue
        values = [weights[f"{layer.name}/{w.name}"] for w in layer.weights]
        if plan and layer.name in plan:  # a convolution: its computed filters
            values = [v[..., plan[layer.name][0]] for v in values]
        layer.set_weights(values)
    return model


@functools.cache
def _traced(skip_constant: bool):
    """The model as one traced TF function (any batch size, no retracing)."""
    model = load_model(skip_constant=skip_constant)
    spec = tf.TensorSpec((None, PATCH_FRAMES, N_MELS), tf.float32)
    return tf.function(lambda x: model(x, training=False), input_signature=[spec])


def predict_patches(
    patches_: np.ndarray, *, skip_constant: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Embedding [n, 1506] and tag probabilities [n, 50] of log-mel patches [n, 187, 96],
    BATCH at a time. A lone patch runs beside a silent one: for one patch TF picks other
    convolution kernels, with other bits; from 2 on, a patch's bits depend on nothing else."""
    x = np.asarray(patches_, dtype=np.float32)
    if x.ndim != 3 or x.shape[1:] != (PATCH_FRAMES, N_MELS):
        raise GenreError(f"musicnn: patches must be [n, {PATCH_FRAMES}, {N_MELS}], got {x.shape}")
    if x.size and not (x.min() >= 0 and x.max() <= MAX_LOG_MEL):  # NaN fails too
        raise GenreError(
            f"musicnn: log-mel values must lie in [0, {MAX_LOG_MEL:g}], got "
            f"[{x.min():.3g}, {x.max():.3g}]: not the log-mel of audio (beyond ~200x full scale)"
        )
    run = _traced(skip_constant)
    embedding, tags = [], []
    for start in range(0, len(x), BATCH):
        batch = x[start : start + BATCH]
        out = run(np.concatenate([batch, np.zeros_like(batch)]) if len(batch) == 1 else batch)
        embedding.append(np.asarray(out[0])[: len(batch)])
        tags.append(np.asarray(out[1])[: len(batch)])
    if not embedding:
        return np.zeros((0, EMBEDDING_SIZE), np.float32), np.zeros((0, len(TAGS)), np.float32)
    return np.concatenate(embedding), np.concatenate(tags)


def embed(samples: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """float32 [patches, 1506]: the embedding of each 2.992 s patch of mono audio (see
    `patches` for the end of the clip and for clips shorter than a patch)."""
    return predict_patches(mel_patches(resample(samples, sample_rate=sample_rate)))[0]


def tag(samples: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """float32 [patches, 50]: the probability of each of TAGS, per patch."""
    return predict_patches(mel_patches(resample(samples, sample_rate=sample_rate)))[1]
