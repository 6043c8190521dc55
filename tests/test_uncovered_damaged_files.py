"""Files that are not what their names say, read by paths no other test reached (found
by a branch-coverage run of the whole suite): gzip'd IDX files with a foreign or cut
header, a 0-d IDX file, a settings file that is a list, $CNNLAB_MODELS naming no file, and
a sweep store whose creation was cut short or that another process holds locked."""

from __future__ import annotations

import gzip
import sqlite3
import warnings

import numpy as np
import pytest
from typer.testing import CliRunner

from cnnlab.data.idx import IdxFormatError, encode_idx, read_idx, read_idx_images, write_idx


def test_a_gzip_file_that_holds_no_idx_data_is_called_so(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(b"<html>404 Not Found</html>"))  # a saved error page
    with pytest.raises(IdxFormatError, match=r"train-images-idx3-ubyte.gz: bad magic number "
                                             r"0x3C68746D: an IDX file starts with two zero"):
        read_idx_images(path)


def test_a_gzip_idx_file_cut_inside_its_header_says_how_many_bytes_it_needs(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    header = encode_idx(np.zeros((2, 28, 28), np.uint8))[:10]  # 3 dims need 16 bytes
    path.write_bytes(gzip.compress(header))
    with pytest.raises(IdxFormatError, match=r"truncated header: 3 dimensions need 16 bytes, "
                                             r"file holds 10"):
        read_idx_images(path)


@pytest.mark.parametrize("name", ["scalar.idx", "scalar.idx.gz"])
def test_a_0_d_idx_file_holds_its_one_value(tmp_path, name):
    path = tmp_path / name
    write_idx(path, np.array(-7, dtype=np.int32))
    value = read_idx(path)
    assert value.shape == () and value.dtype == np.int32 and int(value) == -7


def test_a_config_file_holding_a_list_says_it_needs_field_value_pairs(tmp_path):
    from cnnlab.train import ConfigError, TrainConfig

    path = tmp_path / "recipe.yaml"
    path.write_text("- epochs: 3\n- lr: 0.1\n", encoding="utf-8")  # a list, not a mapping
    with pytest.raises(ConfigError, match=r"recipe.yaml: expected a mapping of field: value"):
        TrainConfig.load(path)


def test_cnnlab_models_naming_no_file_is_warned_of_with_the_fix(tmp_path, monkeypatch):
    from cnnlab.models.own_models import import_own_models
    from cnnlab.notices import SetupWarning

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CNNLAB_MODELS", "my_nets.py")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import_own_models()  # left out, warned of: not a crash of every command
    said = [str(w.message) for w in caught if issubclass(w.category, SetupWarning)]
    assert len(said) == 1, [str(w.message) for w in caught]
    assert "$CNNLAB_MODELS names 'my_nets.py', which is no file" in said[0]
    assert str(tmp_path) in said[0] and "Give the path of the .py file" in said[0]


def test_design_status_of_a_sweep_whose_creation_was_cut_short_says_to_run_it_again(tmp_path):
    from cnnlab.cli import app
    from cnnlab.design.store import TrialStore

    TrialStore(tmp_path / "sweep", create=True).close()  # the store made, no spec yet
    result = CliRunner().invoke(app, ["design", "status", str(tmp_path / "sweep")])
    said = " ".join(result.output.split())
    assert result.exit_code == 1, said  # as every damaged store (test_design_cli_errors)
    assert "holds no sweep spec (its creation was interrupted): run the command that " \
           "created it again" in said, said


def test_a_sweep_store_locked_by_another_process_says_to_try_again(tmp_path, monkeypatch):
    from cnnlab.design import store
    from cnnlab.design.store import SweepError, TrialStore

    TrialStore(tmp_path / "sweep", create=True).close()
    holder = sqlite3.connect(tmp_path / "sweep" / store.DB_NAME, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing it
    monkeypatch.setattr(store, "LOCK_TIMEOUT_S", 0.05)  # the store waits 30 s; a test need not
    try:
        with pytest.raises(SweepError, match=r"trials.sqlite is locked by another process, "
                                              r"which did not let go.*try again when it is done"):
            TrialStore(tmp_path / "sweep")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
