"""What `pip install cnnlab` and the sdist hold, checked from the source tree.

Users install a wheel, not this checkout: a file the package reads beside its modules
(a template, a JSON table) that the wheel lacks works in every editable test run and
fails only after `pip install`. The sdist is what a packager builds and tests from.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cnnlab"


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+ (the suite runs on 3.11)
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)


def _package_data_files(package_data: dict[str, list[str]]) -> set[Path]:
    """The files [tool.setuptools.package-data] puts in the wheel: each key a package
    ("*" for every one), each glob relative to that package's folder, as setuptools reads
    them."""
    packages = {p.parent for p in PACKAGE.rglob("__init__.py") if "__pycache__" not in p.parts}
    found = set()
    for name, patterns in package_data.items():
        folders = packages if name == "*" else {ROOT.joinpath(*name.split("."))}
        for folder in folders:
            for pattern in patterns:
                found.update(p for p in folder.glob(pattern) if p.is_file())
    return found


def test_every_non_python_file_in_the_package_is_package_data():
    # setuptools puts only .py files in the wheel unless pyproject (or MANIFEST.in) names
    # the rest; this finds a missing one without building a wheel.
    data = [p for p in PACKAGE.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
            and "__pycache__" not in p.parts]
    covered = _package_data_files(
        _pyproject().get("tool", {}).get("setuptools", {}).get("package-data", {}))
    missing = sorted(str(p.relative_to(ROOT)) for p in data if p not in covered)
    assert not missing, (f"{missing}: not in the wheel; add a glob for each to "
                         "[tool.setuptools.package-data] in pyproject.toml")


def test_console_script_names_a_function_that_exists():
    # `python -m cnnlab` (which the CLI tests run) does not go through this entry point:
    # a renamed main() would pass them and leave pip's `cnnlab` command broken.
    scripts = _pyproject()["project"]["scripts"]
    assert set(scripts) == {"cnnlab"}
    module, _, function = scripts["cnnlab"].partition(":")
    assert callable(getattr(importlib.import_module(module), function))


def test_sdist_holds_what_the_test_suite_reads(tmp_path):
    """The unpacked sdist runs the suite: its conftest, helpers, BENCHMARKS.md and scripts/
    (read by the tests) and the Makefile (`make test`) were left out, so collection failed
    (ModuleNotFoundError: No module named 'compare_helpers')."""
    setuptools = pytest.importorskip("setuptools")
    if not (ROOT / "pyproject.toml").is_file():
        pytest.skip("no source tree here")
    # Built here with this environment's setuptools, not pip's isolated one: an older one
    # than pyproject's build-system asks for (the oldest-versions venv has 65.5) cannot
    # read its SPDX `license`, which pip would never build with.
    [needs] = _pyproject()["build-system"]["requires"]
    floor = int(needs.partition(">=")[2])
    if int(setuptools.__version__.split(".")[0]) < floor:
        pytest.skip(f"setuptools {setuptools.__version__} here; the build needs {needs}")
    # Built from a copy: setuptools writes cnnlab.egg-info beside the sources.
    tree = tmp_path / "tree"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "*.egg-info", "build", "dist", "runs", "results*",
        ".data", ".*_cache", ".hypothesis", ".zoo-carry"))
    out = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-c",
         "import sys; from setuptools import build_meta; build_meta.build_sdist(sys.argv[1])",
         str(out)], cwd=tree, capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr[-2000:]
    [sdist] = out.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        held = {name.partition("/")[2] for name in archive.getnames()}
    needed = {p.relative_to(tree).as_posix() for folder in ("cnnlab", "tests", "scripts")
              for p in (tree / folder).rglob("*") if p.is_file()
              if "__pycache__" not in p.parts and p.suffix != ".pyc"}
    needed |= {"README.md", "BENCHMARKS.md", "Makefile", "pyproject.toml", "LICENSE"}
    assert not sorted(needed - held), f"missing from the sdist: {sorted(needed - held)}"


def test_python_classifiers_start_at_requires_python():
    # PyPI shows both: a floor raised in one place and not the other tells pip users two
    # different things about which Python they need.
    project = _pyproject()["project"]
    floor = project["requires-python"].removeprefix(">=")
    prefix = "Programming Language :: Python :: 3."
    listed = sorted(int(c.removeprefix(prefix)) for c in project["classifiers"]
                    if c.startswith(prefix))
    assert listed and f"3.{listed[0]}" == floor, (listed, project["requires-python"])


def test_the_editable_install_is_a_path_type_checkers_follow():
    # Without package-dir naming the packages' root, setuptools made `pip install -e .`
    # of this layout an import hook, which pyright, Pylance and mypy cannot follow: an
    # IDE on make setup's venv resolved no `import cnnlab`.
    assert _pyproject()["tool"]["setuptools"]["package-dir"] == {"": "."}
