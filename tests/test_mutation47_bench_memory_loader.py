"""`cnnlab bench memory` and `bench loader` on faked measurements (mutation testing,
session 41): the options reach the bench, each number sits in its column, the line under
the table is the ratio to the baseline of the same run, and --out says the machine."""

from __future__ import annotations

import json
from types import SimpleNamespace

import torch
from typer.testing import CliRunner

from cnnlab.cli import app


def invoke(monkeypatch, *args: str):
    from cnnlab.cli import bench

    monkeypatch.setattr(bench.console, "width", 200)  # every column shown
    result = CliRunner().invoke(app, ["bench", *map(str, args)], env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def cells(output: str) -> list[list[str]]:
    """The table's body rows, cell by cell."""
    return [[c.strip() for c in line.strip("│").split("│")]
            for line in output.splitlines() if line.startswith("│")]


def fake_memory(monkeypatch) -> list[dict]:
    asked = []

    def rows(**kw):
        asked.append(kw)
        return [{"variant": v, "saved_mib": mib, "memory_vs_plain": mib / 40.25, "step_s": s,
                 "time_vs_plain": s / 0.512, "max_abs_logit_diff": logit,
                 "max_abs_grad_diff": grad}
                for v, mib, s, logit, grad in (("plain", 40.25, 0.512, 0.0, 0.0),
                                               ("memory_efficient", 14.5, 0.604, 3e-7, 5e-6))]

    monkeypatch.setattr("cnnlab.bench.memory.run_densenet_memory_bench", rows)
    return asked


def test_memory_times_what_was_asked_and_says_it_in_the_title(monkeypatch, tmp_path):
    asked = fake_memory(monkeypatch)
    result = invoke(monkeypatch, "memory", "--model", "densenet_d2l", "--batch-size", 3,
                    "--image-size", 40, "--steps", 2, "--threads", 3,
                    "--out", tmp_path / "m.json")
    assert result.exit_code == 0, result.output
    assert asked == [{"model": "densenet_d2l", "batch_size": 3, "image_size": 40, "steps": 2,
                      "num_threads": 3}]
    assert "densenet_d2l, batch 3, 40x40, 3 thread(s)" in result.output
    written = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert written["environment"]["torch_threads"] == 3  # the count timed, not the process's
    assert f"rows written to {tmp_path / 'm.json'}" in " ".join(result.output.split())


def test_memory_puts_each_number_in_its_column_and_the_ratios_under_the_table(monkeypatch):
    fake_memory(monkeypatch)
    result = invoke(monkeypatch, "memory")
    assert result.exit_code == 0, result.output
    assert cells(result.output) == [
        ["plain", "40.2", "1.000", "512", "1.000", "0.0e+00", "0.0e+00"],
        ["memory_efficient", "14.5", "0.360", "604", "1.180", "3.0e-07", "5.0e-06"]]
    # the memory-efficient row against the plain one: 64% fewer bytes, 18% more time
    assert "memory-efficient: 64% fewer saved bytes (goal >= 40%), +18% time per step " \
           "(goal <= +35%)" in " ".join(result.output.split())


def test_memory_takes_the_least_image_side_the_model_takes(monkeypatch):
    from cnnlab.models import model_info

    asked = fake_memory(monkeypatch)
    least = model_info("densenet121").min_input_size
    assert invoke(monkeypatch, "memory", "--image-size", least).exit_code == 0
    assert asked[0]["image_size"] == least


def fake_loader(monkeypatch, device: str = "cpu") -> dict:
    """The loader bench faked: the data, the timing, the pixel check and the machine."""
    from cnnlab.bench import loader, results
    from cnnlab.cli import bench

    seen = {"bench": [], "diff": [], "env": []}
    data = SimpleNamespace(train=SimpleNamespace(images=torch.zeros(1234, 1, 28, 28),
                                                 labels=torch.zeros(1234, dtype=torch.long)))
    monkeypatch.setattr("cnnlab.data.load_dataset", lambda *a, **k: data)
    monkeypatch.setattr(bench, "resolve_device", lambda name: device)

    def run(**kw):
        seen["bench"].append({k: v for k, v in kw.items() if k != "data"})
        row = {"parallelism": "main", "images": 1234}
        return [{**row, "pipeline": loader.BOOK, "phase": "warm", "seconds": 2.0,
                 "images_per_s": 617.0, "speedup": None},
                {**row, "pipeline": "DeviceLoader (resident)", "phase": "warm",
                 "seconds": 0.1, "images_per_s": 12340.0, "speedup": 20.0},
                {**row, "pipeline": "DeviceLoader (resident, resize cache)", "phase": "cold",
                 "seconds": 0.5, "images_per_s": 2468.0, "speedup": 4.0},
                {**row, "pipeline": "DeviceLoader (resident, resize cache, augment)",
                 "phase": "warm", "seconds": 0.25, "images_per_s": 4936.0, "speedup": 8.0}]

    def environment(device="cpu", threads=None):
        seen["env"].append(device)
        return {"device": device, "torch_threads": threads or 4}

    monkeypatch.setattr(loader, "run_loader_bench", run)
    monkeypatch.setattr(loader, "pixel_difference", lambda *a: seen["diff"].append(a) or 1e-3)
    monkeypatch.setattr(results, "bench_environment", environment)
    return seen


def test_loader_times_what_was_asked_and_its_best_cached_pipeline_is_the_ratio(monkeypatch):
    seen = fake_loader(monkeypatch)
    result = invoke(monkeypatch, "loader", "--resize", 32, "--batch-size", 64, "--workers", 0,
                    "--epochs", 3, "--repeats", 2, "--threads", 1, "--no-augment")
    assert result.exit_code == 0, result.output
    assert seen["bench"] == [{"resize": 32, "batch_size": 64, "workers": 0, "epochs": 3,
                              "device": "cpu", "repeats": 2, "augment": False, "threads": 1}]
    said = " ".join(result.output.split())
    assert "Fashion-MNIST train, 1,234 images, resize 32, batch 64" in said
    assert [row[-2:] for row in cells(result.output)] == [
        ["617", ""], ["12,340", "20.0x"], ["2,468", "4.0x"], ["4,936", "8.0x"]]
    # the best of the resize-cache rows, not the uncached one's 20x nor the cold 4x
    assert "DeviceLoader vs the book's loader: 8.0x its images/s (goal >= 5x)" in said
    assert "max pixel difference to the book's batches: 1.00e-03" in said
    assert "torch_threads 4 (DeviceLoader: 1)" in said


def test_loader_elsewhere_than_the_cpu_writes_that_device_and_skips_the_pixel_check(
        monkeypatch, tmp_path):
    seen = fake_loader(monkeypatch, device="mps")
    out = tmp_path / "loader.json"
    result = invoke(monkeypatch, "loader", "--device", "mps", "--out", out)
    assert result.exit_code == 0, result.output
    assert seen["bench"][0]["device"] == "mps" and seen["diff"] == []
    assert "pixel difference" not in result.output
    assert json.loads(out.read_text(encoding="utf-8"))["environment"]["device"] == "mps"


def test_loader_resolves_auto_before_timing(monkeypatch):
    from cnnlab.cli import bench

    seen = fake_loader(monkeypatch)
    monkeypatch.setattr(bench, "resolve_device", lambda name: f"resolved {name}")
    assert invoke(monkeypatch, "loader").exit_code == 0
    assert seen["bench"][0]["device"] == "resolved cpu"


def test_loader_without_its_data_is_a_failure_not_a_misuse(monkeypatch, tmp_path):
    # exit 1, as train and the zoo on missing Fashion-MNIST: the command was right
    result = invoke(monkeypatch, "loader", "--data-root", tmp_path / "nowhere")
    assert result.exit_code == 1, result.output
    assert "nowhere" in result.output and "Traceback" not in result.output


def test_memory_on_a_library_model_without_its_package_says_what_to_install(monkeypatch):
    # `bench memory --model timm:densenet121` without timm ended in a traceback; the other
    # benches' --models said the pip line.
    from cnnlab.extras import MissingExtraError

    def missing(name):
        raise MissingExtraError(f"{name} needs the optional package 'timm': "
                                "pip install 'cnnlab[timm]'")

    monkeypatch.setattr("cnnlab.models.model_info", missing)
    result = invoke(monkeypatch, "memory", "--model", "timm:densenet121")
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "pip install 'cnnlab[timm]'" in result.output


def test_a_table_too_wide_even_without_its_columns_folds_its_cells_not_cuts_them(
        monkeypatch):
    from cnnlab.cli import bench

    fake_memory(monkeypatch)
    monkeypatch.setattr(bench.console, "width", 24)  # under the three columns kept
    result = CliRunner().invoke(app, ["bench", "memory"], env={"COLUMNS": "24"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.output, result.output
    assert "1.180" in "".join(c for line in cells(result.output) for c in line), result.output
