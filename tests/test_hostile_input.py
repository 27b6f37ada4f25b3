"""Hostile params.yaml and options: every number finite and bounded, quoted values cut short,
no anchors, deep nesting or huge values, the file read once and refused when too big, unknown
sections refused by name, names printed on one line. Each ends as ONE short line naming the
key, exit code 1, nothing written."""

import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from genre import audio, params
from genre.app import cli
from genre.app.predict import file_error
from genre.errors import GenreError, describe_os_error, printable, run_cli
from genre.models import registry

ROOT = Path(__file__).resolve().parents[1]
SHORT = 300  # characters: a refusal quotes at most params.SHOWN of a value


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


def refusal(capsys, path: Path, section: str) -> str:
    """params.load(section) run as a stage runs it (run_cli): its one short line, exit 1."""
    with pytest.raises(SystemExit) as exit_:
        run_cli(lambda: params.load(section, path))
    assert exit_.value.code == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, [line[:SHORT] for line in lines]
    assert len(lines[0]) <= SHORT, lines[0][:SHORT]
    return lines[0]


def numeric_fields(kind) -> list[tuple[str, str]]:
    """(section, key) of every param whose default is a number (kind=float) or a pair."""
    found = []
    for section, cls in params.SECTIONS.items():
        for f in fields(cls):
            value = f.default
            if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
                found.append((section, f.name))
            if kind is tuple and isinstance(value, tuple) and len(value) == 2:
                found.append((section, f.name))
    return found


HUGE = "9" * 400  # an integer no float holds (and far past every bound)
NOT_FINITE_OR_HUGE = [".nan", ".inf", "-.inf", "1e308", "-1e308", "1e400", HUGE, f"-{HUGE}"]


# --- 1. every number finite and within bounds ------------------------------------------------


def test_every_number_param_is_checked():
    assert len(numeric_fields(float)) >= 25 and len(numeric_fields(tuple)) == 2


@pytest.mark.parametrize("value", NOT_FINITE_OR_HUGE)
@pytest.mark.parametrize(("section", "key"), numeric_fields(float))
def test_numbers_must_be_finite_and_bounded(tmp_path, capsys, section, key, value):
    """NaN passed every range check (a comparison with NaN is false), int(inf) overflowed,
    and keys without an upper bound took 1e308: each is now refused, naming the key."""
    line = refusal(capsys, write(tmp_path, f"{section}:\n  {key}: {value}\n"), section)
    assert line.startswith(f"error: params.yaml: {section}.{key} must be "), line


@pytest.mark.parametrize("value", ["[.nan, 1]", "[1, .inf]", "[-.inf, 1]", "[1e308, 1e308]"])
@pytest.mark.parametrize(("section", "key"), numeric_fields(tuple))
def test_pairs_must_be_finite_and_bounded(tmp_path, capsys, section, key, value):
    line = refusal(capsys, write(tmp_path, f"{section}:\n  {key}: {value}\n"), section)
    assert line.startswith(f"error: params.yaml: {section}.{key} must be "), line


@pytest.mark.parametrize("value", [*NOT_FINITE_OR_HUGE, "1e-9", "-1"])
def test_ensemble_weights_are_finite_and_cannot_overflow(tmp_path, capsys, value):
    """`.nan` wrote NaN into models/ensemble.json (`blues nan%`), 1e308 overflowed the sum."""
    path = write(tmp_path, f"ensemble:\n  weights:\n    mlp: {value}\n    rnn: 1\n")
    line = refusal(capsys, path, "ensemble")
    assert line.startswith("error: params.yaml: ensemble.weights.mlp must be "), line


def test_ensemble_weights_at_their_bounds_are_taken(tmp_path):
    path = write(tmp_path, "ensemble:\n  weights: {mlp: 1e6, rnn: 1e-6, lstm: 0}\n")
    weights = params.load("ensemble", path).weights_for(registry.names())
    assert weights == {"mlp": 1e6, "rnn": 1e-6, "lstm": 0.0, "bilstm": 1.0}


@pytest.mark.parametrize("section", [s for s, key in numeric_fields(float) if key == "seed"])
def test_seeds_are_what_numpy_scikit_learn_and_keras_accept(tmp_path, capsys, section):
    path = write(tmp_path, f"{section}:\n  seed: {2**32 - 1}\n")
    assert params.load(section, path).seed == 2**32 - 1
    line = refusal(capsys, write(tmp_path, f"{section}:\n  seed: {2**32}\n"), section)
    assert line == f"error: params.yaml: {section}.seed must be <= 4294967295, got 4294967296"


# --- 5. a message quotes a value short; anchors, deep and huge values are refused ----------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("train:\n  epochs: [" + ", ".join(["1"] * 300_000) + "]\n", "train.epochs"),  # 900 KB
        ("train:\n  epochs: [" + ", ".join(["1"] * 1000) + "]\n", "train.epochs"),
        ("train:\n  epochs: " + "x" * 4000 + "\n", "train.epochs"),
        ("data:\n  genres: [blues, " + "y" * 4000 + "]\n", "data.genres"),
        ("data:\n  local_path: " + "z" * 5000 + "\n", "data.local_path"),
        ("train:\n  ? " + "k" * 4000 + "\n  : 1\n", "train.'kkkkk"),
        (
            "train:\n  learning_rate: {" + ", ".join(f"k{i}: 1" for i in range(900)) + "}\n",
            "train.learning_rate",
        ),
    ],
    ids=["1MB-list", "1000-list", "4000-chars", "long-genre", "5000-chars", "long-key", "map"],
)
def test_a_huge_value_is_refused_in_one_short_line(tmp_path, capsys, text, key):
    """A 1 MB list where a number belongs gave a one-line error of 734,054 characters."""
    section = key.split(".")[0]
    line = refusal(capsys, write(tmp_path, text), section)
    assert f"params.yaml: {key}" in line, line


BILLION_LAUGHS = """\
a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
data:
  genres: *g
"""


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (BILLION_LAUGHS, "a"),
        ("train: &t\n  epochs: 3\nmodel:\n  units: 8\n", "train"),
        ("data:\n  genres: &g [blues, jazz]\ntrain:\n  epochs: *g\n", "data.genres"),
        ("ensemble:\n  weights: {mlp: &w 1, rnn: *w}\n", "ensemble.weights.mlp"),
    ],
    ids=["billion-laughs", "anchor", "alias", "anchored-number"],
)
def test_yaml_anchors_and_aliases_are_refused(tmp_path, capsys, text, key):
    """A billion laughs in data.genres built an 80 MB message and a MemoryError traceback;
    params.yaml never needs anchors (DVC writes none)."""
    line = refusal(capsys, write(tmp_path, text), "data")
    assert line == (
        f"error: params.yaml: {key} uses a YAML anchor or alias (&, *): write the value out instead"
    )


@pytest.mark.parametrize("depth", [6, 100_000])
def test_deep_nesting_is_refused(tmp_path, capsys, depth):
    text = "data:\n  genres: " + "[" * depth + "]" * depth + "\n"
    line = refusal(capsys, write(tmp_path, text), "data")
    assert line.startswith("error: params.yaml: data.genres[0][0][0] nests lists or mappings")


def test_nesting_as_deep_as_params_go_is_read(tmp_path):
    path = write(tmp_path, "ensemble:\n  weights: {mlp: 1}\ndata:\n  genres: [blues, jazz]\n")
    assert params.load("data", path).genres == ("blues", "jazz")


def test_a_long_genre_list_is_checked_in_linear_time(tmp_path, capsys):
    genres = ", ".join(f"g{i}" for i in range(1900))
    path = write(tmp_path, f"data:\n  source: local\n  local_path: x\n  genres: [{genres}, g7]\n")
    line = refusal(capsys, path, "data")
    assert line == "error: params.yaml: data.genres lists g7 twice: keep one"


def test_a_nul_in_a_folder_path_is_refused(tmp_path, capsys):
    path = write(tmp_path, 'data:\n  source: local\n  local_path: "a\\0b"\n')
    line = refusal(capsys, path, "data")
    assert line.startswith("error: params.yaml: data.local_path must be a folder path, got 'a")


def test_shown_cuts_any_value_short():
    for value in [list(range(10**6)), "x" * 10**6, 10**5000, {i: i for i in range(10**4)}]:
        assert len(params.shown(value)) <= params.SHOWN
    assert params.shown([1, 2]) == "[1, 2]" and params.shown("a\nb") == "'a\\nb'"


# --- 6. read once per process, and refused past 1 MB ---------------------------------------


def test_a_params_file_over_1_mb_is_refused_naming_it(tmp_path, capsys):
    path = write(tmp_path, "train:\n  epochs: 3\n" + "# padding\n" * 200_000)  # 2 MB
    line = refusal(capsys, path, "train")
    assert line == (
        f"error: {path} is over 1 MB, more than a params file holds (this project's is 2 KB): "
        "is it the right file?"
    )


def test_the_file_is_parsed_once_and_again_when_it_changes(tmp_path, monkeypatch):
    parsed = []
    real = params._parse
    monkeypatch.setattr(
        params, "_parse", lambda text, path: [parsed.append(1), real(text, path)][1]
    )
    path = write(tmp_path, (ROOT / "params.yaml").read_text())
    for section in params.SECTIONS:
        params.load(section, path)
    assert len(parsed) == 1
    path.write_text(path.read_text().replace("epochs: 40", "epochs: 41"))  # same size
    assert params.load("train", path).epochs == 41 and len(parsed) == 2


# --- 7. an unknown section is refused, whichever section a stage loads ---------------------


@pytest.mark.parametrize("section", list(params.SECTIONS))
def test_a_misspelt_section_is_refused_by_every_stage(tmp_path, capsys, section):
    path = write(tmp_path, "augmnet:\n  factor: 2\n")
    assert refusal(capsys, path, section) == (
        "error: params.yaml: augmnet is not a known section: did you mean augment? (sections: "
        "data, augment, featurize, split, model, train, baseline, ensemble)"
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("1: x\n", "params.yaml: 1 is not a known section (sections:"),
        ("trian: {}\n", "params.yaml: trian is not a known section: did you mean train?"),
        ("train:\n  epoch: 5\n", "params.yaml: train.epoch is not a known key: did you mean"),
        ("train:\n  ? [a, b]\n  : 1\n", "params.yaml: train has a list or mapping as a key"),
        ('train:\n  "ep\\nochs": 3\n', "params.yaml: train.'ep\\nochs' is not a known key"),
    ],
)
def test_unknown_keys_are_named(tmp_path, capsys, text, says):
    assert says in refusal(capsys, write(tmp_path, text), "train")


# --- 10. names with control characters stay on one line -----------------------------------


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("a\nb.wav", "a\\nb.wav"),
        ("a\tb.wav", "a\\tb.wav"),
        ("a\rb.wav", "a\\rb.wav"),
        ("\x1b[31mred.wav", "\\x1b[31mred.wav"),
        ("a\x00\x7f\x85b.wav", "a\\x00\\x7f\\x85b.wav"),
        ("a\u2028b.wav", "a\\u2028b.wav"),
        ("caf\udce9.wav", "caf\\xe9.wav"),  # a Latin-1 name, as os.listdir gives it
        (b"caf\xe9\n.wav", "caf\\xe9\\n.wav"),
        ("café rock.wav", "café rock.wav"),
    ],
)
def test_printable_keeps_a_name_on_one_line(name, shown):
    assert printable(name) == shown
    assert printable(Path(name) if isinstance(name, str) else name).isprintable()


def test_a_name_with_a_newline_gives_one_line(capsys):
    name = "a\nb.wav"
    for err in (GenreError(f"{printable(name)}: not audio"), FileNotFoundError(2, "No file", name)):

        def main(err=err):
            raise err

        with pytest.raises(SystemExit):
            run_cli(main)
        assert capsys.readouterr().err.splitlines()[0].startswith("error: a\\nb.wav: ")
    assert describe_os_error(FileNotFoundError(2, "No such file", name)).startswith("a\\nb.wav:")


def test_predict_answers_a_file_with_a_newline_on_one_line(tmp_path):
    """`genre predict $'a\\nb.wav'` split its answer over two lines."""
    name = str(tmp_path / "a\nb.wav")
    with pytest.raises(GenreError) as caught:
        audio.read(name, sample_rate=22050)
    line = file_error(name, caught.value)
    assert line == f"{tmp_path}/a\\nb.wav: file not found"


def test_a_huge_unexpected_error_is_cut_to_one_short_line(capsys):
    def main():
        raise ValueError("x" * 10**6)

    with pytest.raises(SystemExit):
        run_cli(main)
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: unexpected ValueError: xxx") and len(line) < 1200


# --- a stage, and genre serve's --max-mb ----------------------------------------------------


def test_a_stage_refuses_a_nan_weight_and_writes_nothing(tmp_path):
    """The ensemble stage wrote NaN weights into models/ensemble.json and exited 0."""
    write(tmp_path, "ensemble:\n  weights:\n    mlp: .nan\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("DVC_STAGE", None)
    result = subprocess.run(
        [sys.executable, "-m", "genre.stages.ensemble"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: params.yaml: ensemble.weights.mlp must be a finite number, got nan"
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["params.yaml"]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "1e9", "-1"])
@pytest.mark.parametrize(
    "argv",
    [["serve", "--max-mb"], ["serve", "--max-minutes"], ["predict", "song.wav", "--max-minutes"]],
    ids=["serve-max-mb", "serve-max-minutes", "predict-max-minutes"],
)
def test_number_options_refuse_absurd_values(capsys, argv, value):
    with pytest.raises(SystemExit) as exit_:
        cli.main([*argv[:-1], f"{argv[-1]}={value}"])
    assert exit_.value.code == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {argv[-1]} ") and "must be" in line, line
