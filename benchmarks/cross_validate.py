"""By-track k-fold cross-validation of the baseline, the four neural models and their ensemble.

GTZAN results in the literature are k-fold cross-validated; one 80/20 split of 100 tracks moves
by several points from one seed to another. Here every track is in the test fold exactly once per
repeat (StratifiedGroupKFold by track, stratified by genre: all clips of a track, augmented or
not, sit in the same fold), the models are trained on the other folds (early stopping on a
by-track validation part of the TRAINING tracks, as `train_<arch>` does) and scored on the test
tracks' original clips. Per model it prints mean ± std over the folds and the paired difference
against the baseline (same folds), with a 95% interval from the corrected resampled t-test of
Nadeau & Bengio (2003) / Bouckaert & Frank (2004), which widens the naive interval for the
overlap of the training sets between folds.

    python benchmarks/cross_validate.py PROJECT            # data/features of a featurized project
    python benchmarks/cross_validate.py --local ../shared/gtzan-mini --factor 7.02   # featurize it
    python benchmarks/cross_validate.py PROJECT --repeats 5 --out cv.csv
    python benchmarks/cross_validate.py PROJECT --set model.units=64 --set train.epochs=20
    python benchmarks/cross_validate.py --report cv.csv more.csv   # tables of saved runs
    python benchmarks/cross_validate.py --compare before.csv after.csv   # two codes, same folds
    python benchmarks/cross_validate.py --local ../shared/gtzan-mini --representation musicnn \
        --factor 1 --out musicnn.csv
    python benchmarks/cross_validate.py --report musicnn.csv --baseline-from handcrafted.csv

model/train/baseline/ensemble params come from PROJECT's params.yaml (for --local: the current
folder's params.yaml, also used for the other stages), each overridable with --set
section.key=value.
Writes nothing but --out (one row per model, repeat and fold) and, for --local, a temporary folder.
"""

import argparse
import dataclasses
import itertools
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from genre import kernels  # noqa: E402, F401 - first: it holds the numeric kernels

# isort: split
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from ruamel.yaml import YAML  # noqa: E402
from scipy import stats  # noqa: E402
from sklearn.model_selection import StratifiedGroupKFold  # noqa: E402
from tqdm import tqdm  # noqa: E402

from genre import params  # noqa: E402
from genre.errors import GenreError, run_cli  # noqa: E402
from genre.evaluation import scores  # noqa: E402
from genre.models import registry  # noqa: E402
from genre.models.inputs import Inputs, labels  # noqa: E402
from genre.models.voting import vote_tables  # noqa: E402
from genre.paths import ID_COLUMNS, SEQUENCES, SUMMARY  # noqa: E402

BASELINE = "baseline"
MODELS = (BASELINE, *registry.names(), "ensemble")
# --variants: other ways to combine the same fold's models (nothing more is trained)
VARIANTS = ("ensemble_val", "ensemble+baseline")
WEIGHT_GRID = (0.0, 1.0, 2.0)  # ensemble_val: soft-voting weights tried per model
SECTIONS = ("model", "train", "baseline", "ensemble")


@dataclasses.dataclass
class Features:
    """Every clip's ids, summary features (for the MLP and the baseline) and sequences."""

    rows: pd.DataFrame  # ID_COLUMNS
    summary: np.ndarray  # (clips, 44)
    sequences: np.ndarray  # (clips, steps, 44)


def load_features(project: Path) -> Features:
    """data/features of a featurized project folder (featurize's outputs, aligned by row)."""
    summary_path, sequences_path = project / SUMMARY, project / SEQUENCES
    for path in (summary_path, sequences_path):
        if not path.is_file():
            raise GenreError(f"{path} is missing: run `dvc repro featurize` in {project} first")
    table = pd.read_parquet(summary_path)
    sequences = np.load(sequences_path, allow_pickle=False)
    if len(sequences) != len(table):
        raise GenreError(f"{sequences_path} and {summary_path} differ in length: rerun featurize")
    summary = table.drop(columns=ID_COLUMNS).to_numpy("float32")
    return Features(table[ID_COLUMNS].reset_index(drop=True), summary, sequences)


def featurize_local(
    folder: Path, *, factor: float, representation: str | None, workdir: Path
) -> Path:
    """A project folder in workdir with `folder` downloaded (data.source local), augmented by
    `factor` and featurized (with `representation`, if given), by the pipeline's own stages
    (default params otherwise)."""
    settings = params.read_yaml() if params.PARAMS_PATH.is_file() else {}
    settings.setdefault("data", {}).update(source="local", local_path=str(folder.resolve()))
    settings.setdefault("augment", {})["factor"] = factor
    if representation:
        settings.setdefault("featurize", {})["representation"] = representation
    yaml = YAML()
    with open(workdir / "params.yaml", "w") as f:
        yaml.dump(settings, f)
    for stage in ("download", "augment", "featurize"):
        subprocess.run([sys.executable, "-m", f"genre.stages.{stage}"], cwd=workdir, check=True)
    return workdir


def load_params(project: Path, overrides: list[str]) -> dict:
    """The model/train/baseline/ensemble sections of project's params.yaml, with --set applied."""
    path = project / "params.yaml"
    sections = {
        s: params.load(s, path) if path.is_file() else params.SECTIONS[s]() for s in SECTIONS
    }
    for item in overrides:
        key, _, value = item.partition("=")
        section, _, name = key.partition(".")
        if section not in sections or not value:
            raise GenreError(f"--set {item}: expected section.key=value, section one of {SECTIONS}")
        sections[section] = dataclasses.replace(sections[section], **{name: YAML().load(value)})
    return sections


def folds(rows: pd.DataFrame, *, k: int, seed: int) -> list[np.ndarray]:
    """k boolean test masks over the clips: each track's clips in exactly one test fold."""
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    masks = []
    for _, test in splitter.split(rows, rows["genre"], groups=rows["track_id"]):
        mask = np.zeros(len(rows), dtype=bool)
        mask[test] = True
        masks.append(mask)
    tested = rows.assign(fold=np.argmax(masks, axis=0)).groupby("track_id")["fold"].nunique()
    assert (tested == 1).all() and np.sum(masks, axis=0).max() == 1  # no track straddles folds
    return masks


def validation_weights(val_probs: dict[str, np.ndarray], y_val: np.ndarray) -> dict[str, float]:
    """The soft-voting weights (from WEIGHT_GRID per model) with the lowest log loss on the
    validation part of the training tracks, never the test fold; ties go to equal weights."""
    grid = [np.array(w) for w in itertools.product(WEIGHT_GRID, repeat=len(val_probs))]
    grid = [np.ones(len(val_probs))] + [w for w in grid if w.sum() > 0]  # equal weights first
    stacked = np.stack(list(val_probs.values()))
    best, best_loss = None, np.inf
    for w in grid:
        probs = np.tensordot(w / w.sum(), stacked, axes=1)
        loss = -np.mean(np.log(np.clip(probs[np.arange(len(y_val)), y_val], 1e-7, None)))
        if loss < best_loss - 1e-9:
            best, best_loss = w, loss
    return dict(zip(val_probs, map(float, best), strict=True))


def run_fold(features: Features, test: np.ndarray, *, sections: dict, models) -> dict:
    """Train every model on the clips outside `test`; their predictions of the test clips."""
    from genre.models.networks import (
        keras,  # first: sets TensorFlow's environment, imports it quietly
    )

    import tensorflow as tf  # isort: skip
    from genre.models import baseline  # isort: skip
    from genre.models import training

    tf.get_logger().setLevel("ERROR")  # "triggered tf.function retracing": one model per fold

    rows = features.rows.assign(subset=np.where(test, "test", "train"))
    genres = Inputs(features.summary, rows).genres  # the data's genre list: model outputs
    tp = sections["train"]
    train_rows = rows[~test].reset_index(drop=True)
    val = training.validation_mask(train_rows, val_size=tp.val_size, seed=tp.seed)  # as train()
    neural = {"ensemble", *VARIANTS} & set(models)
    predictions, val_probs = {}, {}
    if BASELINE in models:
        fitted, _ = baseline.fit(Inputs(features.summary, rows), params=sections["baseline"])
        predictions[BASELINE] = baseline.predict_test(fitted, Inputs(features.summary, rows))
    for arch in registry.names():
        if arch in models or neural:
            keras.backend.clear_session()
            x = features.sequences if registry.get(arch).sequences else features.summary
            result = training.train(
                arch, Inputs(x, rows), model_params=sections["model"], train_params=tp
            )
            predictions[arch] = result.predictions
            if "ensemble_val" in models:
                probs = training.predict(
                    result.model, x, rows=np.flatnonzero(~test)[val], batch_size=tp.batch_size
                )
                val_probs[arch] = probs.astype("float64")
    votes = {a: predictions[a] for a in registry.names() if a in predictions}
    if "ensemble" in models:
        weights = sections["ensemble"].weights_for(registry.names())
        predictions["ensemble"] = vote_tables(votes, weights)
    if "ensemble_val" in models:
        weights = validation_weights(val_probs, labels(train_rows["genre"][val], genres=genres))
        predictions["ensemble_val"] = vote_tables(votes, weights)
    if "ensemble+baseline" in models:
        with_baseline = {**votes, BASELINE: predictions[BASELINE]}
        predictions["ensemble+baseline"] = vote_tables(
            with_baseline, dict.fromkeys(with_baseline, 1.0)
        )
    return {name: predictions[name] for name in models}


def fold_scores(predictions: pd.DataFrame) -> dict:
    """Accuracy and macro recall on the original clips of the test tracks."""
    original = predictions[predictions["transform"] == "original"]
    result = scores(original["genre"], original["predicted"])
    return {"accuracy": result["accuracy"], "macro_recall": result["macro_recall"]}


def corrected_interval(diffs: np.ndarray, *, test_share: float, level: float = 0.95):
    """Mean and interval of paired fold differences, variance corrected for overlapping
    training sets: (1/J + n_test/n_train) s^2, t with J-1 degrees of freedom."""
    j = len(diffs)
    mean = round(float(np.mean(diffs)), 9) + 0.0  # no "-0.000" for a mean of zero
    if j < 2:
        return mean, float("nan"), float("nan")
    var = (1 / j + test_share / (1 - test_share)) * np.var(diffs, ddof=1)
    half = stats.t.ppf(0.5 + level / 2, j - 1) * np.sqrt(var)
    return mean, mean - half, mean + half


def report(
    records: pd.DataFrame, *, k: int, title: str, baseline: pd.DataFrame | None = None
) -> str:
    """The tables: mean ± std per model, and paired differences against the baseline (this
    run's, or `baseline`: another run's on the same folds, e.g. on other features)."""
    lines = [title, ""]
    lines.append("| model | accuracy | macro recall |")
    lines.append("|---|---|---|")
    for model in [m for m in MODELS + VARIANTS if m in set(records["model"])]:
        part = records[records["model"] == model]
        cells = [
            f"{part[m].mean():.3f} ± {part[m].std(ddof=1):.3f}"
            for m in ("accuracy", "macro_recall")
        ]
        lines.append(f"| {model} | {' | '.join(cells)} |")
    if baseline is None:
        if BASELINE not in set(records["model"]) or records["model"].nunique() < 2:
            return "\n".join(lines)
        baseline = records
    base = baseline[baseline["model"] == BASELINE].set_index(["repeat", "fold"])
    lines += [
        "",
        "| model − baseline | Δ accuracy (95% CI) | Δ macro recall (95% CI) | folds + / − |",
    ]
    lines.append("|---|---|---|---|")
    others = [m for m in MODELS + VARIANTS if m in set(records["model"])]
    for model in [m for m in others if m != BASELINE or baseline is not records]:
        part = records[records["model"] == model].set_index(["repeat", "fold"])
        if not part.index.isin(base.index).all():
            raise GenreError("the runs do not share their folds: run both with the same --seed")
        cells = []
        for metric in ("accuracy", "macro_recall"):
            diffs = (part[metric] - base.loc[part.index, metric]).to_numpy()
            mean, low, high = corrected_interval(diffs, test_share=1 / k)
            cells.append(f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]")
        d = (part["macro_recall"] - base.loc[part.index, "macro_recall"]).to_numpy()
        lines.append(f"| {model} | {' | '.join(cells)} | {(d > 0).sum()} / {(d < 0).sum()} |")
    return "\n".join(lines)


def compare(before: pd.DataFrame, after: pd.DataFrame, *, title: str) -> str:
    """Paired differences after − before per model, fold by fold: two runs of the same folds
    (same --seed and --repeats) on different code or params."""
    index = ["repeat", "fold", "model"]
    both = before.merge(after, on=index, suffixes=("_before", "_after"))
    if both.empty:
        raise GenreError(
            "the two runs share no (repeat, fold, model): run both with the same --seed"
        )
    k = both["fold"].nunique()
    lines = [title, "", "| model | before | after | after − before (95% CI) | folds + / − |"]
    lines.append("|---|---|---|---|---|")
    for model in [m for m in MODELS + VARIANTS if m in set(both["model"])]:
        part = both[both["model"] == model]
        d = (part["macro_recall_after"] - part["macro_recall_before"]).to_numpy()
        mean, low, high = corrected_interval(d, test_share=1 / k)
        lines.append(
            f"| {model} | {part['macro_recall_before'].mean():.3f} | "
            f"{part['macro_recall_after'].mean():.3f} | {mean:+.3f} [{low:+.3f}, {high:+.3f}] | "
            f"{(d > 0).sum()} / {(d < 0).sum()} |"
        )
    return "\n".join(lines)


def table(runs: dict[str, pd.DataFrame], *, baseline: pd.DataFrame) -> str:
    """One markdown table, a column per run (e.g. per representation): each model's macro
    recall, mean ± std over the folds, then its paired difference with `baseline`'s baseline
    model on the same folds [95% interval]."""
    base = baseline[baseline["model"] == BASELINE].set_index(["repeat", "fold"])["macro_recall"]
    k = baseline["fold"].nunique()
    lines = ["| model | " + " | ".join(runs) + " |", "|---" * (len(runs) + 1) + "|"]
    models = [m for m in MODELS + VARIANTS if any(m in set(r["model"]) for r in runs.values())]
    for model in models:
        cells = []
        for records in runs.values():
            part = records[records["model"] == model].set_index(["repeat", "fold"])["macro_recall"]
            if part.empty:
                cells.append("–")
                continue
            mean, low, high = corrected_interval(
                (part - base.loc[part.index]).to_numpy(), test_share=1 / k
            )
            spread = f"{part.mean():.3f} ± {part.std(ddof=1):.3f}"
            cells.append(f"{spread} ({mean:+.3f} [{low:+.3f}, {high:+.3f}])")
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def read_runs(paths: list[Path]) -> pd.DataFrame:
    """--out CSVs put together; repeats of different files are different repeats."""
    parts = [pd.read_csv(p) for p in paths]
    for i, part in enumerate(parts):
        part["repeat"] = part["repeat"] + 1000 * i
    return pd.concat(parts, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", nargs="?", type=Path, help="a featurized project folder")
    parser.add_argument("--local", type=Path, help="featurize this <genre>/<genre>.<NNNNN> folder")
    parser.add_argument("--factor", type=float, default=7.02, help="augment.factor for --local")
    parser.add_argument(
        "--representation",
        choices=params.REPRESENTATIONS,
        help="featurize.representation for --local (default: the params.yaml's)",
    )
    parser.add_argument(
        "--baseline-from",
        type=Path,
        nargs="+",
        metavar="CSV",
        help="with --report: pair every model against the baseline of these runs, one per "
        "--report CSV (same folds: the same --seed)",
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42, help="fold seed of the first repeat")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS + VARIANTS)
    parser.add_argument("--variants", action="store_true", help=f"add {', '.join(VARIANTS)}")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--out", type=Path, help="CSV of the per-fold scores")
    parser.add_argument("--report", type=Path, nargs="+", help="print the tables of --out CSVs")
    parser.add_argument(
        "--table",
        nargs="+",
        metavar="LABEL=CSV",
        help="one table of several --out CSVs (same folds), each model against the baseline of "
        "--baseline-from (or of the first CSV)",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        nargs=2,
        metavar=("BEFORE", "AFTER"),
        help="paired macro-recall differences of two --out CSVs, same folds",
    )
    args = parser.parse_args()
    if args.table:
        runs = {
            label: pd.read_csv(path) for label, _, path in (x.partition("=") for x in args.table)
        }
        first = next(iter(runs.values()))
        baseline = read_runs(args.baseline_from) if args.baseline_from else first
        print(table(runs, baseline=baseline))
        return
    if args.compare:
        before, after = (pd.read_csv(p) for p in args.compare)
        print(compare(before, after, title=f"{args.compare[1]} against {args.compare[0]}"))
        return
    if args.report:  # runs of the same data and params with different --seed, put together
        records = read_runs(args.report)
        k = records["fold"].nunique()
        repeats = records["repeat"].nunique()
        title = f"{', '.join(map(str, args.report))}: {k}-fold by track x {repeats} repeat(s)"
        baseline = None
        if args.baseline_from:
            baseline = read_runs(args.baseline_from)
            title += f"; against the baseline of {', '.join(map(str, args.baseline_from))}"
        print(report(records, k=k, title=title, baseline=baseline))
        return
    if args.variants:
        args.models = [*args.models, *(v for v in VARIANTS if v not in args.models)]
    if (args.project is None) == (args.local is None):
        raise GenreError("give a featurized project folder or --local FOLDER (one of the two)")

    with tempfile.TemporaryDirectory(prefix="cv-") as tmp:
        project = args.project or featurize_local(
            args.local, factor=args.factor, representation=args.representation, workdir=Path(tmp)
        )
        sections = load_params(args.project or Path("."), args.set)
        features = load_features(project)
    n_tracks = features.rows["track_id"].nunique()
    records = []
    start = time.perf_counter()
    runs = [(r, f) for r in range(args.repeats) for f in range(args.folds)]
    bar = tqdm(runs, desc="folds", unit="fold", disable=None)
    masks = {}
    for repeat, fold in bar:
        if repeat not in masks:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # tiny classes
                masks[repeat] = folds(features.rows, k=args.folds, seed=args.seed + repeat)
        test = masks[repeat][fold]
        for model, predictions in run_fold(
            features, test, sections=sections, models=args.models
        ).items():
            records.append(
                {"repeat": repeat, "fold": fold, "model": model, **fold_scores(predictions)}
            )
        bar.set_postfix({r["model"]: r["macro_recall"] for r in records[-len(args.models) :]})
        if args.out:  # after every fold: a run cut short keeps its finished folds
            pd.DataFrame(records).to_csv(args.out, index=False)
    records = pd.DataFrame(records)
    changed = ", ".join(args.set) or "params.yaml as is"
    title = (
        f"{args.project or args.local}: {n_tracks} tracks, {len(features.rows)} clips; "
        f"{args.folds}-fold by track x {args.repeats} repeat(s) (seeds {args.seed}..."
        f"{args.seed + args.repeats - 1}); {changed}; scored on the test tracks' original clips; "
        f"{time.perf_counter() - start:.0f} s"
    )
    print(report(records, k=args.folds, title=title))


if __name__ == "__main__":
    run_cli(main)
