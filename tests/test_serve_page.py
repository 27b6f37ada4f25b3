"""`genre serve`, what the page says beside the answer: which model set answers (its data,
date, weights and test scores, with a warning for the synthetic default data), scores read
tolerantly from metrics/report.json, and bad command-line options refused in one line."""

from pathlib import Path

import pytest

from genre.app import cli
from genre.app.predict import load_model_set
from genre.app.serve import Service, model_set_markdown, scores_line, shown_folder
from genre.files import write_json

REPORT = {
    "ensemble": {
        "test": {
            "accuracy": 0.9612,
            "accuracy_ci": [0.95, 0.971],
            "macro_recall": 0.96,
            "macro_recall_ci": [0.948, 0.97],
            "macro_f1": 0.959,
        },
        "test_original": {"accuracy": 0.93, "accuracy_ci": [0.89, 0.96]},
    }
}


def test_about_names_data_date_scores_and_warns_on_synthetic(trained_models):
    service = Service(models_dir=trained_models)
    report = trained_models.parent / "metrics" / "report.json"  # removed after: shared set
    write_json(REPORT, report)
    try:
        about = service.about("ensemble")
    finally:
        report.unlink()
    description = load_model_set(trained_models).description
    assert about.startswith("**Answering: ensemble**, trained on `synthetic` data")
    assert f"index md5 `{description['data']['index_md5'][:8]}`" in about
    assert "Models dated 20" in about and "(ensemble.json written)" in about
    assert "Weights: mlp 1, rnn 1" in about
    assert (
        "Test scores (95 % interval) on test clips: accuracy 0.961 [0.950, 0.971], macro "
        "recall 0.960 [0.948, 0.970], macro F1 0.959; original test clips: accuracy 0.930 "
        "[0.890, 0.960]." in about
    )
    assert "trained on the synthetic default data. They will not recognise real music" in about
    assert "Test scores unknown: no report.json" in service.about("mlp")


def test_about_real_data_has_no_warning(tmp_path):
    class Set:
        description = {"data": {"source": "gtzan", "index_md5": "0123456789ab"}, "weights": {}}

    about = model_set_markdown(
        Set(), choice="lstm", models_dir=tmp_path, report=tmp_path / "r.json"
    )
    assert about.startswith("**Answering: lstm**, trained on `gtzan` data (index md5 `01234567`)")
    assert "synthetic" not in about


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "Test scores unknown: no report.json"),
        ("{not json", "Test scores unknown: report.json has no readable entry for mlp"),
        ('{"rnn": {}}', "Test scores unknown: report.json has no readable entry for mlp"),
        ('{"mlp": {"test": {"accuracy": "n/a"}}}', "Test scores unknown: report.json has no"),
        ('{"mlp": {"test": {"accuracy": 0.5}}}', "on test clips: accuracy 0.500."),
    ],
)
def test_scores_are_read_tolerantly(tmp_path, content, says):
    report = tmp_path / "report.json"
    if content is not None:
        report.write_text(content)
    assert says in scores_line(report, model="mlp")


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--port", "0"], "error: --port 0: not a port number (1-65535)"),
        (["--max-mb", "0"], "error: --max-mb 0: must be above 0"),
    ],
)
def test_bad_options(capsys, argv, says):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve", *argv])
    assert exit_.value.code == 1
    assert capsys.readouterr().err.strip() == says


@pytest.mark.parametrize(
    ("folder", "shown"),
    [
        ("/srv/work/shared/gtzan-mini", "../shared/gtzan-mini"),  # beside the project
        ("/srv/work/main/data/mine", "data/mine"),  # inside it
        ("/elsewhere/deep/music/blues", ".../blues"),  # far: its name alone
        ("my_music", "my_music"),  # as params.yaml gave it
    ],
)
def test_the_page_shows_folders_without_the_servers_own_paths(folder, shown):
    assert shown_folder(folder, project=Path("/srv/work/main")) == shown


def test_a_folder_in_the_home_is_shown_from_tilde():
    home = Path.home()
    assert shown_folder(str(home / "music/blues"), project=Path("/srv/x/y/z")) == "~/music/blues"
