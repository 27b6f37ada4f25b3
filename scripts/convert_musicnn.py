"""Convert musicnn's MSD_musicnn checkpoint into genre.features.musicnn's weights file, and make the
reference outputs its test compares against.

    python scripts/convert_musicnn.py               # writes src/genre/resources/musicnn/
    python scripts/convert_musicnn.py --reference   # and tests/data/musicnn_reference.npz

It downloads the pinned wheel with pip (`pip download musicnn==0.1.0 --no-deps`; or give
`--wheel` a copy), checks its sha256, reads the TF1 checkpoint in it and writes the weights of
genre.features.musicnn's model, float32, as arrays named `<layer>/<weight>`. Batch norm, for
inference:

- norm -> dense (the back end's two): folded into the dense layer (kernel s * K, bias
  b + t @ K): exact in real arithmetic; the tags move by < 1e-6.
- conv -> ReLU -> norm (all eight convolutions): NOT folded. Folding s * relu(z) + t into the
  convolution (as sign(s) * relu(|s| z) + t) is exact in real arithmetic only, and the rounding
  it moves is amplified by the filters that died in training (zero variance, so s reaches
  324): measured 4.5e-4 off musicnn's graph in the embedding, whose own float32 error is 5e-4.
  The norm's parameters are kept, and genre.features.musicnn takes the front end's norm AFTER
  the max over the mel bands (same bits, 1/59 of the work). For that, a filter whose norm scales
  by a negative factor (a decreasing norm needs the min) is negated here: exact.
- the input's norm is kept as well (its output is zero-padded).

The embedding is [max over time, mean over time] of the 753 feature maps; the checkpoint's dense
layer reads them interleaved (max_0, mean_0, max_1, ...), so its rows are reordered. Rerunning
writes the same bytes (fixed zip dates, stored entries, sums in float64 in a fixed order).

`--reference` freezes the ORIGINAL graph from the checkpoint's .meta (the subgraph up to
model/Sigmoid, variables made constants, is_training fed False) and runs it on
genre.features.musicnn's log-mel patches of the 10 real clips in ../shared/gtzan-sample: per
patch the back end's max_pool and mean_pool (model/Max, model/moments/Squeeze) and the 50 tag
probabilities.
"""

import argparse
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # this checkout's genre package, before any install

# genre first: it holds NumPy's and OpenBLAS's kernels before they load (genre.kernels)
from genre.features import musicnn  # noqa: E402
from genre.files import atomic_path  # noqa: E402

import numpy as np  # noqa: E402  # isort: skip
import soundfile as sf  # noqa: E402  # isort: skip

WHEEL = "musicnn-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "f38a4890c648c1ddbb141c5d96d2b0a8cfcd36746002d896989f7b88beb65cfa"
CHECKPOINT = "musicnn/MSD_musicnn/"
LICENSE = "musicnn-0.1.0.dist-info/LICENSE.md"
EPSILON = 1e-3  # tf.compat.v1.layers.batch_normalization's default, as the graph holds
OUT_DIR = ROOT / "src" / "genre" / "resources" / "musicnn"
REFERENCE = ROOT / "tests" / "data" / "musicnn_reference.npz"
SAMPLE = ROOT.parent / "shared" / "gtzan-sample"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# Our layer <- the checkpoint's convolution and the batch norm after its ReLU.
CONVS = {
    "timbral_7x38": ("conv2d", "batch_normalization_1"),
    "timbral_7x67": ("conv2d_1", "batch_normalization_2"),
    "temporal_128": ("conv2d_2", "batch_normalization_3"),
    "temporal_64": ("conv2d_3", "batch_normalization_4"),
    "temporal_32": ("conv2d_4", "batch_normalization_5"),
    "midend_1": ("conv2d_5", "batch_normalization_6"),
    "midend_2": ("conv2d_6", "batch_normalization_7"),
    "midend_3": ("conv2d_7", "batch_normalization_8"),
}


def fetch_wheel(wheel: Path | None, workdir: Path) -> bytes:
    """The pinned wheel's bytes (downloaded by pip unless given), checked against its sha256."""
    if wheel is None:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "musicnn==0.1.0",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            str(workdir),
        ]
        subprocess.run(cmd, check=True)
        wheel = workdir / WHEEL
    data = wheel.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != WHEEL_SHA256:
        sys.exit(f"error: {wheel}: sha256 {digest}, expected {WHEEL_SHA256}: not the pinned wheel")
    return data


def read_checkpoint(wheel: bytes, workdir: Path) -> dict[str, np.ndarray]:
    """The MSD_musicnn checkpoint's variables (optimizer slots left out), by name."""
    import tensorflow as tf

    prefix = _extract(wheel, workdir, (".index", ".data-00000-of-00001"))
    reader = tf.compat.v1.train.NewCheckpointReader(prefix)
    names = [n for n in reader.get_variable_to_shape_map() if "Adam" not in n and "power" not in n]
    return {name: reader.get_tensor(name) for name in sorted(names)}


def _extract(wheel: bytes, workdir: Path, suffixes) -> str:
    """Extract the checkpoint's files named by `suffixes`; return the checkpoint prefix."""
    folder = workdir / "MSD_musicnn"
    folder.mkdir(exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        for suffix in suffixes:
            (folder / suffix).write_bytes(archive.read(CHECKPOINT + suffix))
    return str(folder) + "/"


def norm_affine(v: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A batch norm as scale s and shift t in float64: y = s * x + t."""
    g, b, m, var = (
        v[f"{name}/{k}"].astype(np.float64)
        for k in ("gamma", "beta", "moving_mean", "moving_variance")
    )
    scale = g / np.sqrt(var + EPSILON)
    return scale, b - m * scale


def fold(v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """genre.features.musicnn's weights ("<layer>/<weight>") from the checkpoint's variables."""
    out = {}
    bn = "batch_normalization"
    norms = {"input_norm": bn} | {f"{layer}_norm": norm for layer, (_, norm) in CONVS.items()}
    for ours, theirs in norms.items():
        for k in ("gamma", "beta", "moving_mean", "moving_variance"):
            out[f"{ours}/{k}"] = v[f"{theirs}/{k}"]
    for layer, (conv, norm) in CONVS.items():
        # A front-end filter whose norm scales by a negative factor is negated: the norm is
        # then taken after the max over frequency of the negated map (musicnn.PoolNorm).
        sign = 1 if layer.startswith("midend") else np.where(v[f"{norm}/gamma"] < 0, -1, 1)
        kernel = v[f"{conv}/kernel"] * sign
        if layer.startswith("midend"):
            kernel = kernel[:, :, 0, :]  # [7, features, 1, 64] -> Conv1D's [7, features, 64]
        out[f"{layer}/kernel"] = kernel
        out[f"{layer}/bias"] = v[f"{conv}/bias"] * sign
    half = 753
    order = np.concatenate([np.arange(0, 2 * half, 2), np.arange(1, 2 * half, 2)])
    out["dense/kernel"], out["dense/bias"] = _fold_dense(
        v, "dense", *norm_affine(v, f"{bn}_9"), rows=order
    )
    out["tags/kernel"], out["tags/bias"] = _fold_dense(v, "dense_1", *norm_affine(v, f"{bn}_10"))
    return {name: np.ascontiguousarray(a, dtype=np.float32) for name, a in sorted(out.items())}


def _fold_dense(v, name, s, t, rows=None):
    """dense(s * x + t) as one dense layer: kernel s[:, None] * K, bias b + t @ K (float64,
    summed row by row so the bits do not depend on a BLAS)."""
    kernel = v[f"{name}/kernel"].astype(np.float64)
    if rows is not None:
        kernel, s, t = kernel[rows], s[rows], t[rows]
    bias = v[f"{name}/bias"].astype(np.float64) + np.sum(t[:, None] * kernel, axis=0)
    return s[:, None] * kernel, bias


def write_npz(path: Path, arrays: dict[str, np.ndarray], *, compress: bool = False) -> None:
    """An .npz that np.load reads, with the same bytes for the same arrays (fixed dates)."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with atomic_path(path, suffix=".npz") as tmp, zipfile.ZipFile(tmp, "w") as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(
                buffer, np.ascontiguousarray(arrays[name]), allow_pickle=False
            )
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE)
            info.compress_type = method
            archive.writestr(info, buffer.getvalue())


def write_resources(weights: dict, wheel: bytes) -> str:
    """The weights file, the musicnn licence and a README; returns the weights' sha256."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / Path(musicnn.WEIGHTS).name
    write_npz(path, weights)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        licence = archive.read(LICENSE)
    with atomic_path(OUT_DIR / "LICENSE") as tmp:
        tmp.write_bytes(licence)
    count = sum(a.size for a in weights.values())
    with atomic_path(OUT_DIR / "README.md") as tmp:
        tmp.write_text(README.format(wheel=WHEEL_SHA256, sha256=digest, count=count))
    return digest


README = """\
# MSD_musicnn weights

`msd_musicnn.weights.npz` holds the weights of musicnn's `MSD_musicnn` tagger (Jordi Pons and
Xavier Serra, "musicnn: pre-trained convolutional neural networks for music audio tagging",
ISMIR 2019 late-breaking demo; trained on the Million Song Dataset's 50 most common tags),
converted for `genre.features.musicnn` (Keras 3). They come from the TF1 checkpoint
`musicnn/MSD_musicnn/` in the PyPI wheel `musicnn==0.1.0`
(sha256 {wheel}), under the ISC licence in `LICENSE` (copied from the wheel).

Made by `python scripts/convert_musicnn.py`: it downloads the wheel with pip, checks its sha256,
reads the checkpoint and rearranges it for inference (the back end's batch norms folded into its
dense layers, some front-end filters negated; the script's docstring says why). float32,
{count} values, as arrays named `<layer>/<weight>`. Rerunning the script writes the same bytes:

    sha256 {sha256}  msd_musicnn.weights.npz

`genre.features.musicnn.WEIGHTS_SHA256` holds the same digest; the model refuses another.
"""


def frozen_graph(wheel: bytes, variables: dict[str, np.ndarray]):
    """The original inference graph (GraphDef): the .meta's subgraph up to model/Sigmoid with
    its variables as constants and without the `_output_shapes` attributes TF 2 rejects."""
    import tensorflow as tf
    from tensorflow.core.protobuf import meta_graph_pb2

    meta = meta_graph_pb2.MetaGraphDef()
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        meta.ParseFromString(archive.read(CHECKPOINT + ".meta"))
    outputs = ["model/Sigmoid", "model/Max", "model/moments/Squeeze"]
    graph = tf.compat.v1.graph_util.extract_sub_graph(meta.graph_def, outputs)
    for node in graph.node:
        node.attr.pop("_output_shapes", None)
        if node.op == "VariableV2":
            value = variables[node.name]
            dtype = node.attr["dtype"]
            node.op = "Const"
            node.attr.clear()
            node.attr["dtype"].CopyFrom(dtype)
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
    return graph


def run_original(graph, patches: np.ndarray) -> dict[str, np.ndarray]:
    """The original graph on patches [n, 187, 96]: max_pool, mean_pool [n, 753], tags [n, 50]."""
    import tensorflow as tf

    g = tf.Graph()
    with g.as_default():
        tf.graph_util.import_graph_def(graph, name="")
    with tf.compat.v1.Session(graph=g) as session:
        tags, max_pool, mean_pool = session.run(
            ["model/Sigmoid:0", "model/Max:0", "model/moments/Squeeze:0"],
            feed_dict={"model/Placeholder:0": patches, "model/Placeholder_2:0": False},
        )
    return {"max": max_pool[..., 0], "mean": mean_pool[..., 0], "tags": tags}


def sample_clips() -> list[Path]:
    """The 10 real clips, one per genre."""
    clips = sorted(SAMPLE.glob("*/*.wav"))
    if len(clips) != 10:
        sys.exit(f"error: {SAMPLE}: expected 10 clips, found {len(clips)}")
    return clips


def write_reference(wheel: bytes, variables: dict, *, patches_per_clip: int) -> None:
    """tests/data/musicnn_reference.npz: the original graph's outputs on our patches."""
    graph = frozen_graph(wheel, variables)
    clips, embeddings, tags = [], [], []
    for path in sample_clips():
        samples, rate = sf.read(path, dtype="float32")
        patches = musicnn.mel_patches(musicnn.resample(samples, sample_rate=rate))
        out = run_original(graph, patches[:patches_per_clip])
        clips.append(path.stem)
        embeddings.append(np.concatenate([out["max"], out["mean"]], axis=1))
        tags.append(out["tags"])
        top = [musicnn.TAGS[i] for i in np.argsort(-out["tags"].mean(axis=0))[:3]]
        print(f"{path.stem}: {len(patches)} patches; top tags {', '.join(top)}")
    arrays = {"clips": np.array(clips), "embedding": np.stack(embeddings), "tags": np.stack(tags)}
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    write_npz(REFERENCE, arrays, compress=True)
    print(f"wrote {REFERENCE.relative_to(ROOT)} ({REFERENCE.stat().st_size} bytes)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL} (else pip fetches it)")
    parser.add_argument(
        "--reference", action="store_true", help="also write tests/data/musicnn_reference.npz"
    )
    parser.add_argument("--patches-per-clip", type=int, default=10)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = fetch_wheel(args.wheel, Path(tmp))
        variables = read_checkpoint(wheel, Path(tmp))
    print(f"checkpoint: {sum(a.size for a in variables.values())} weights, {len(variables)} arrays")
    digest = write_resources(fold(variables), wheel)
    print(f"wrote {OUT_DIR.relative_to(ROOT)}/: weights sha256 {digest}")
    if digest != musicnn.WEIGHTS_SHA256:
        print(f"note: set WEIGHTS_SHA256 = {digest!r} in src/genre/features/musicnn.py")
    if args.reference:
        write_reference(wheel, variables, patches_per_clip=args.patches_per_clip)


if __name__ == "__main__":
    main()
