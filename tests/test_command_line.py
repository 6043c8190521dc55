"""The `cnnlab` program starts quickly and quietly: the app loads without torch (which
each command imports when it runs), and Ctrl-C while it loads ends with status 130, not a
traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cnnlab import command_line


def test_the_app_and_the_packages_public_names_load_without_torch():
    # `cnnlab --help` took 1.8 s on a 2-core machine, 1.6 s of it importing torch.
    probe = ("import sys, cnnlab, cnnlab.train, cnnlab.cli; "
             "from cnnlab.train import ConfigError, TrainConfig; "
             "print(sorted(m for m in ('torch', 'numpy', 'matplotlib') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]"
    # ... and each public name still resolves to what it names, on first use.
    import cnnlab
    import cnnlab.train
    from cnnlab.train.run import train
    from cnnlab.train.trainer import Trainer

    assert cnnlab.train.train is train and cnnlab.train.Trainer is Trainer
    assert cnnlab.get_model("lenet_d2l").__class__.__name__ == "LeNet"
    assert set(cnnlab.__all__) <= set(dir(cnnlab))
    with pytest.raises(AttributeError, match="'cnnlab.train' has no attribute 'trian'"):
        cnnlab.train.trian  # noqa: B018
    # `import cnnlab` alone reaches the subpackages, as a notebook expects.
    probe = "import cnnlab; print(cnnlab.ops.conv2d.__name__, cnnlab.design.edf.__name__)"
    reached = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                             check=True).stdout.split()
    assert reached == ["conv2d", "cnnlab.design.edf"]
    with pytest.raises(AttributeError, match="'cnnlab' has no attribute 'opss'"):
        cnnlab.opss  # noqa: B018


def test_ctrl_c_while_the_app_loads_ends_with_status_130(monkeypatch):
    class InterruptedImport:
        def find_spec(self, name, path=None, target=None):
            if name == "cnnlab.cli":
                raise KeyboardInterrupt
            return None

    monkeypatch.delitem(sys.modules, "cnnlab.cli", raising=False)
    monkeypatch.setattr(sys, "meta_path", [InterruptedImport(), *sys.meta_path])
    try:
        with pytest.raises(SystemExit) as stopped:
            command_line.main()
    except KeyboardInterrupt:  # let through, it would end the whole test session
        pytest.fail("Ctrl-C while loading escaped as KeyboardInterrupt (a traceback)")
    assert stopped.value.code == 130


def test_python_dash_m_cnnlab_runs_the_same_program():
    result = subprocess.run([sys.executable, "-m", "cnnlab", "--version"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("cnnlab "), result.stderr
