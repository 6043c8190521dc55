"""Every Python snippet in README.md runs as written, as a notebook's cells run it: in a
fresh interpreter, outside the repository, on a tiny Fashion-MNIST where the snippet looks
for the real one (``$CNNLAB_DATA``), with a folder of the reader's own images at
``photos/``. Nothing else is prepared: a path a snippet uses must be one it made."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import cnnlab

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_snippets() -> list[tuple[str, str]]:
    """(the heading above it, the code) of each ```python block, in README order."""
    text = README.read_text(encoding="utf-8")
    snippets = []
    for block in re.finditer(r"```python\n(.*?)```", text, re.S):
        headings = re.findall(r"^#+ (.+)$", text[: block.start()], re.M)
        snippets.append((headings[-1] if headings else "top", block.group(1)))
    return snippets


def _param(heading: str, code: str):
    # The training snippet trains three times (a ResNet among them): seconds, not one.
    marks = [pytest.mark.slow] if "train(" in code else []
    return pytest.param(code, id=re.sub(r"\W+", "-", heading).strip("-").lower(), marks=marks)


def test_the_readme_has_python_snippets():
    assert len(readme_snippets()) >= 3


@pytest.mark.parametrize("code", [_param(h, c) for h, c in readme_snippets()])
def test_readme_python_snippet_runs_as_written(tmp_path, tiny_fashion, code):
    # Ten training images (one per class) and ten test images: the snippets' runs take
    # seconds. The reader's photos: one image file.
    tiny_fashion(tmp_path / "fashion-mnist", n_train=10, n_test=10)
    (tmp_path / "photos").mkdir()
    Image.new("L", (28, 28), 40).save(tmp_path / "photos" / "coat.png")
    # The cnnlab under test (a checkout's, not whichever one the environment installed).
    source = str(Path(cnnlab.__file__).resolve().parents[1])
    env = {**os.environ, "CNNLAB_DATA": str(tmp_path / "fashion-mnist"),
           "CNNLAB_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([source, *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_readmes_chapter_map_names_each_book_network_and_its_section():
    # A teacher had no map from the book's sections to cnnlab's names; the README's must
    # name every book network, with the section `cnnlab models NAME` gives it.
    from cnnlab.models import list_models, model_info

    text = " ".join(README.read_text(encoding="utf-8").split())
    paragraph = text[text.index("Chapter by chapter"):].split(" Those whose")[0]
    said = dict(re.findall(r"`(\w+)` \((\d\.\d)", paragraph))
    said.update({name: said[after] for name, after in (("resnet18_d2l", "resnext_d2l"),)})
    assert set(said) == set(list_models(variant="book")), paragraph
    assert all(model_info(n).book_section == s for n, s in said.items()), said


def test_the_proofs_the_readme_names_are_there():
    text = README.read_text(encoding="utf-8")
    named = set(re.findall(r"(test_ops_\w+\.py)", text))
    assert {"test_ops_conv.py", "test_ops_norm.py", "test_ops_fft.py"} <= named
    assert all((README.parent / "tests" / name).is_file() for name in named), named
