"""`genre serve` under load: songs per second and the median latency of a 30 s clip through
the web API, beside the same work in-process (genre.app.predict.predict_file) in the same run.

    python benchmarks/bench_serve.py               # the trained models in models/ (dvc repro)
    python benchmarks/bench_serve.py --fabricate   # untrained models of params.yaml's size
    python benchmarks/bench_serve.py --fabricate --requests 40 --clients 8

The clip is ../shared/gtzan-sample/blues/blues.00000.wav where present, else 30 s of noise.
--fabricate builds the four models (and the ensemble) at params.yaml's model size without
training them: the time to answer does not depend on the weights. The server runs on a free
port of 127.0.0.1 and is stopped at the end; everything it writes is in a temporary folder.
"""

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from genre import kernels  # noqa: F401 - first: it holds NumPy's and OpenBLAS's kernels

# isort: split
import numpy as np

from genre import GENRES, params
from genre.errors import GenreError, run_cli
from genre.features.layout import FeatureSettings
from genre.models import modelset, registry
from genre.paths import MODELS_DIR

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "gtzan-sample" / "blues"
GENRE_BIN = Path(sys.executable).parent / "genre"


def fabricate_models(folder: Path) -> Path:
    """The four architectures at params.yaml's model size, untrained, described as the train
    and ensemble stages describe theirs (stand-in data fingerprints), weighted as params.yaml."""
    from genre.files import write_json
    from genre.models.networks import build, save

    data, featurize = params.load("data"), params.load("featurize")
    model = params.load("model")
    weights = params.load("ensemble").weights_for(registry.names())
    rng = np.random.default_rng(0)
    for name in ("index.csv", "split.csv"):
        (folder / name).write_text("fabricated\n")
    models_dir = folder / "models"
    models_dir.mkdir()
    descriptions = {}
    for arch in registry.names():
        settings = FeatureSettings(data.sample_rate, data.duration_s, featurize)
        shape = settings.input_shape(sequences=registry.get(arch).sequences)
        path = modelset.model_path(arch, models_dir)
        x = rng.normal(size=(16, *shape))
        save(build(arch, train_x=x, params=model, genres=GENRES), path)
        descriptions[arch] = modelset.describe_model(
            arch,
            model_file=path,
            shape=shape,
            genres=GENRES,
            data=data,
            featurize=featurize,
            index_path=folder / "index.csv",
            split_path=folder / "split.csv",
        )
        write_json(descriptions[arch], modelset.description_path(arch, models_dir))
    ensemble = modelset.describe_ensemble(descriptions, weights=weights, models_dir=models_dir)
    write_json(ensemble, modelset.description_path("ensemble", models_dir))
    return models_dir


def clip(folder: Path) -> Path:
    """A real 30 s GTZAN clip where present, else 30 s of noise at 22050 Hz."""
    real = SAMPLE / "blues.00000.wav"
    if real.is_file():
        return real
    import soundfile as sf

    path = folder / "noise.wav"
    noise = np.random.default_rng(0).normal(scale=0.2, size=30 * 22050).clip(-1, 1)
    sf.write(path, noise, 22050)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(models_dir: Path, *, folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(folder / "serve.log", "w")  # noqa: SIM115 - the server writes it until stopped
    env = {**os.environ, "TMPDIR": str(folder)}
    argv = [str(GENRE_BIN), "serve", "--port", str(port), "--models-dir", str(models_dir)]
    server = subprocess.Popen(argv, cwd=folder, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise GenreError(f"genre serve stopped: {(folder / 'serve.log').read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return server, url
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise GenreError("genre serve did not start in 300 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--fabricate", action="store_true", help="untrained default-size models")
    parser.add_argument("--requests", type=int, default=40, help="concurrent phase (default 40)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--repeats", type=int, default=10, help="latency samples (default 10)")
    args = parser.parse_args()
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from gradio_client import Client, handle_file

    from genre.app.predict import load_model_set, predict_file

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        folder = Path(tmp)
        models_dir = fabricate_models(folder) if args.fabricate else args.models_dir
        song = clip(folder)
        model_set = load_model_set(models_dir)
        predict_file(song, model_set=model_set)  # warm-up
        local = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            want = predict_file(song, model_set=model_set).probabilities
            local.append(time.perf_counter() - start)

        server, url = start_server(models_dir, folder=folder)
        try:
            clients = [Client(url, verbose=False) for _ in range(args.clients)]

            def ask(k: int) -> float:
                start = time.perf_counter()
                label, _, message = clients[k].predict(
                    handle_file(str(song)), "ensemble", api_name="/classify"
                )
                got = {c["label"]: c["confidence"] for c in label["confidences"]}
                if not np.allclose([got[g] for g in model_set.genres], want, atol=1e-6):
                    raise GenreError(f"the server answered differently: {message}")
                return time.perf_counter() - start

            ask(0)  # warm-up: the model set is loaded on first use
            served = [ask(0) for _ in range(args.repeats)]
            start = time.perf_counter()

            def client_run(k: int) -> list[float]:  # one client's requests, one at a time
                return [ask(k) for _ in range(k, args.requests, args.clients)]

            with ThreadPoolExecutor(args.clients) as pool:
                loaded = [t for run in pool.map(client_run, range(args.clients)) for t in run]
            seconds = time.perf_counter() - start
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)

    print(f"clip: {song.name} (30 s), models: {'fabricated' if args.fabricate else models_dir}")
    print(f"{'':36}{'median latency':>16}{'songs/s':>10}")
    for name, times in (("predict_file, in-process", local), ("genre serve, one client", served)):
        median = statistics.median(times)
        print(f"{name:36}{median:>14.3f} s{1 / median:>10.2f}")
    median = statistics.median(loaded)
    label = f"genre serve, {args.clients} clients"
    print(f"{label:36}{median:>14.3f} s{args.requests / seconds:>10.2f}")
    overhead = statistics.median(served) / statistics.median(local)
    print(f"web overhead (one client / in-process): {overhead:.2f}x")


if __name__ == "__main__":
    run_cli(main)
