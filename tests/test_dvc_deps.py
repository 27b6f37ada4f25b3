"""dvc.yaml's code deps are derived from the code: each stage depends on exactly the files of
ours it runs (every `genre` module it imports, directly or through other modules, at module or
function level, with their packages' __init__.py) and the package resources they open. Edit any
of them and `dvc status` marks the stage changed; edit anything else and it stays up to date.

On failure the message gives, per stage, what is missing or extra and the exact list to paste.

Every registered architecture (genre.models.registry) has its train_<arch> stage, whose model,
description and predictions the ensemble and evaluate stages depend on; a missing entry is
named with what to add.
"""

import ast
import functools
import re
from pathlib import Path

import pytest
from helpers import ROOT

from genre.models import registry
from genre.paths import SEQUENCES, SUMMARY

SRC = ROOT / "src"
PACKAGE = "genre"
STAGE_CMD = re.compile(r"^PYTHONPATH=src python -m (genre\.stages\.\w+)(?:\s|$)")


def module_file(name: str, *, src: Path = SRC) -> Path | None:
    """The file of module `genre.x.y` under src/, or None if there is none."""
    base = src.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _type_checking_only(tree: ast.Module) -> set[ast.AST]:
    """Nodes under `if TYPE_CHECKING:`: imports that never run."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(ast.walk(child))
    return skipped


def imported_modules(path: Path, *, src: Path = SRC) -> set[str]:
    """Every `genre` module the file imports anywhere in its body (functions included),
    resolving relative imports and `from genre import submodule`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skipped = _type_checking_only(tree)
    package = path.parent.relative_to(src).parts  # the package the file belongs to
    found = set()
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and ast.unparse(node.func).endswith("import_module")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(node.args[0].value)
    return {
        name
        for name in found
        if (name == PACKAGE or name.startswith(f"{PACKAGE}.")) and module_file(name, src=src)
    }


def resources_opened(path: Path, *, src: Path = SRC) -> set[Path]:
    """Package data the module names in a string, e.g. "resources/gtzan_filtered.csv"."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value
            if "/" in value and "\n" not in value and not value.endswith(".py"):
                for base in (src / PACKAGE, path.parent):
                    candidate = (base / value).resolve()
                    if candidate.is_relative_to(src.resolve()) and candidate.is_file():
                        found.add(candidate)
    return found


@functools.cache  # the same stages' closures serve several tests: do not edit the list
def closure(module: str, *, src: Path = SRC) -> list[str]:
    """The files (relative to the project) that running `python -m module` reads: modules
    imported transitively, every enclosing package's __init__.py, and resources they open."""
    src = src.resolve()
    files: set[Path] = set()
    todo = [module]
    while todo:
        parts = todo.pop().split(".")
        # importing a.b.c runs a/__init__.py and a/b/__init__.py first
        for i in range(1, len(parts) + 1):
            path = module_file(".".join(parts[:i]), src=src)
            if path is None or path in files:
                continue
            files.add(path)
            files.update(resources_opened(path, src=src))
            todo.extend(imported_modules(path, src=src))
    return sorted(p.relative_to(src.parent).as_posix() for p in files)


def declared_code_deps(deps: list[str]) -> set[str]:
    """The stage's deps under src/, directories expanded to the files in them."""
    files = set()
    for dep in deps:
        if not dep.startswith("src/"):
            continue
        path = ROOT / dep
        if path.is_dir():
            files.update(
                p.relative_to(ROOT).as_posix()
                for p in path.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
            )
        else:
            files.add(dep)
    return files


@functools.cache
def stages() -> tuple:
    """dvc.yaml's stages as DVC reads them (templating resolved)."""
    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:
        return tuple(repo.index.stages)


def stage_module(cmd: str) -> str | None:
    match = STAGE_CMD.match(cmd)
    return match.group(1) if match else None


# --- the helper itself ------------------------------------------------------------------


def test_closure_follows_function_level_and_transitive_imports():
    download = closure("genre.stages.download")
    # `from genre.sources.synthetic import ...` inside a function; styles only through it
    assert "src/genre/sources/synthetic.py" in download
    assert "src/genre/sources/styles.py" in download
    assert "src/genre/__init__.py" in download and "src/genre/stages/__init__.py" in download
    assert "src/genre/models/training.py" not in download
    split = closure("genre.stages.split")
    assert "src/genre/resources/gtzan_filtered.csv" in split


def test_relative_and_package_imports_resolve(tmp_path):
    """`from . import x`, `from genre import x` (a submodule), `import genre.x.y` in a function,
    `from .e import g` in a package's __init__.py; an unimported module stays out."""
    package = tmp_path / "src" / "genre"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\nfrom genre import c\n")
    (package / "b.py").write_text("def f():\n    import genre.sub.d\n")
    (package / "c.py").write_text("import numpy\n")
    (package / "sub" / "__init__.py").write_text("from .e import g\n")
    (package / "sub" / "d.py").write_text("")
    (package / "sub" / "e.py").write_text("g = 1\n")
    (package / "unused.py").write_text("")
    assert closure("genre.a", src=tmp_path / "src") == [
        f"src/genre/{name}"
        for name in (
            "__init__.py",
            "a.py",
            "b.py",
            "c.py",
            "sub/__init__.py",
            "sub/d.py",
            "sub/e.py",
        )
    ]


# --- dvc.yaml ---------------------------------------------------------------------------


def test_every_stage_runs_the_code_of_its_own_checkout():
    """`PYTHONPATH=src` puts the checkout's (or the experiment's temporary copy's) src/ before
    the editable install, which points at the workspace's src/."""
    wrong = [f"{s.name}: {s.cmd}" for s in stages() if stage_module(s.cmd) is None]
    assert not wrong, "stage commands must be `PYTHONPATH=src python -m genre.stages.<name>`:\n" + (
        "\n".join(wrong)
    )


def test_code_deps_are_exactly_the_import_closure():
    reports: dict[str, list[str]] = {}  # one report per distinct problem, naming its stages
    for stage in stages():
        module = stage_module(stage.cmd)
        if module is None:
            pytest.fail(f"{stage.name}: cannot tell its module from `{stage.cmd}`", pytrace=False)
        wanted = closure(module)
        declared = declared_code_deps([dep.def_path for dep in stage.deps])
        missing = sorted(set(wanted) - declared)
        extra = sorted(declared - set(wanted))
        if missing or extra:
            listing = "\n".join(f"      - {path}" for path in wanted)
            problem = (
                f"({module}) misses {missing or 'nothing'} and lists {extra or 'nothing'} "
                f"too many; its code deps should be (then its data deps):\n{listing}"
            )
            reports.setdefault(problem, []).append(stage.name)
    if reports:
        pytest.fail(
            "dvc.yaml code deps differ from what the stages import:\n"
            + "\n".join(f"{', '.join(names)} {problem}" for problem, names in reports.items()),
            pytrace=False,
        )


def test_no_code_dep_is_empty():
    """DVC warns on every run about an empty dependency: a package's __init__.py needs at
    least its docstring."""
    empty = sorted(
        path
        for stage in stages()
        if stage_module(stage.cmd)
        for path in closure(stage_module(stage.cmd))
        if (ROOT / path).stat().st_size == 0
    )
    assert not empty, f"empty files among the stage deps (give each a docstring): {empty}"


# --- every registered model has its stages -------------------------------------------------


def model_stage_problems(archs: tuple[str, ...]) -> list[str]:
    """What dvc.yaml lacks for each of `archs`, one line each saying what to add: a
    train_<arch> stage reading its features and writing its model, description and
    predictions, which the ensemble and evaluate stages read."""
    by_name = {stage.name: stage for stage in stages()}
    problems = []
    for arch in archs:
        stage = registry.stage_of(arch)
        features = (SEQUENCES if registry.get(arch).sequences else SUMMARY).as_posix()
        outs = [f"models/{arch}.keras", f"models/{arch}.json", f"data/predictions/{arch}.parquet"]
        _, description, table = outs
        if stage not in by_name:
            problems.append(
                f"registered architecture {arch!r} has no stage {stage} in dvc.yaml: add "
                f"`{stage}: {{<<: *train, vars: [{{arch: {arch}, features: {features}}}]}}` "
                f"beside train_mlp (it writes {', '.join(outs)})"
            )
        else:
            deps, written = _paths(by_name[stage].deps), _paths(by_name[stage].outs)
            if features not in deps or not set(outs) <= written:
                problems.append(
                    f"{stage} must depend on {features} and write {', '.join(outs)}: make it "
                    f"`{stage}: {{<<: *train, vars: [{{arch: {arch}, features: {features}}}]}}`"
                )
        for reader, wanted in (("ensemble", [table, description]), ("evaluate", [table])):
            missing = [path for path in wanted if path not in _paths(by_name[reader].deps)]
            if missing:
                problems.append(f"stage {reader} reads {', '.join(missing)}: add to its deps")
    return problems


def _paths(entries) -> set[str]:
    return {entry.def_path for entry in entries}


def test_every_registered_architecture_has_its_stages():
    problems = model_stage_problems(registry.names())
    assert not problems, "dvc.yaml:\n" + "\n".join(problems)


def test_a_newly_registered_architecture_is_told_what_to_add(toy_architecture):
    """A fifth model registered without its dvc.yaml entries: the check says what to add."""
    assert model_stage_problems(registry.names()) == [
        "registered architecture 'gru' has no stage train_gru in dvc.yaml: add "
        "`train_gru: {<<: *train, vars: [{arch: gru, features: data/features/sequences.npy}]}` "
        "beside train_mlp (it writes models/gru.keras, models/gru.json, "
        "data/predictions/gru.parquet)",
        "stage ensemble reads data/predictions/gru.parquet, models/gru.json: add to its deps",
        "stage evaluate reads data/predictions/gru.parquet: add to its deps",
    ]
