"""The zoo's Markdown table says what it compares."""

import json

from cnnlab.bench import zoo, zoo_report

SETUP = json.dumps({"data": "fashion-mnist", "batch_size": 128, "epochs": 1})


def row(model, family, acc, book, params, macs, side, seconds, first=False, epochs=1):
    """A stored row as the CSV gives it back: every cell a string."""
    return {"model": model, "family": family, "preset": "book", "status": "done",
            "test_acc": str(acc), "book_acc": "" if book is None else str(book),
            "book_epochs": "" if book is None else "10", "params": str(params),
            "macs": str(macs), "input_size": f"1x{side}x{side}", "images_per_s": "1220.298",
            "peak_memory_mib": "", "wall_time_s": str(seconds), "epochs": str(epochs),
            "first_in_process": str(first), "device": "cpu",
            "machine": "Intel Xeon Processor, 2 CPUs", "setup": SETUP}


# The reviewer's staged zoo, plus two networks at one point and three input sizes.
ZOO = [
    row("resnet18_d2l", "resnet", 0.912, 0.903, 11_171_146, 318_700_000, 96, 3100, True),
    row("densenet_d2l", "densenet", 0.905, 0.893, 758_226, 127_000_000, 96, 2400),
    row("lenet_bn_d2l", "lenet", 0.885, 0.876, 44_878, 281_640, 28, 33),
    row("lenet_bn", "lenet", 0.885, 0.868, 44_878, 281_640, 28, 35),
    row("regnetx32_d2l", "regnet", 0.900, 0.908, 4_000_000, 40_000_000, 96, 800),
    row("resnext_d2l", "resnet", 0.910, None, 5_000_000, 75_000_000, 96, 1500),
    row("alexnet_d2l", "alexnet", 0.830, 0.830, 46_787_978, 939_000_000, 224, 2900),
]
LENETS = [  # the reviewer's real run: 1 epoch, less than a decade of MACs
    row("lenet_bn", "lenet", 0.7864, 0.868, 44_878, 281_640, 28, 49.17, True),
    row("lenet_bn_d2l", "lenet", 0.7864, 0.876, 44_878, 281_640, 28, 32.89),
    row("lenet_d2l", "lenet", 0.10, 0.728, 61_706, 416_520, 28, 13.85),
]


def test_si_and_three_figures():
    assert [zoo_report.si(v) for v in (281_640, 416_520, 3e5, 1.8e9, 999_700, 12)] == [
        "282K", "417K", "300K", "1.8G", "1M", "12"]
    assert [zoo_report.sig3(v) for v in (14_055, 9501.1, 13.85, 0.01824)] == [
        "14,100", "9,500", "13.8", "0.0182"]


def test_markdown_table_aligns_numbers_and_says_what_it_compares():
    text = zoo_report.markdown_table(LENETS + [{"model": "nin_d2l", "status": "failed",
                                                "error": "RuntimeError: boom"}])
    lines = text.splitlines()
    assert lines[1] == "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    assert all(line.count("|") == lines[0].count("|") for line in lines[:6])
    first, second, third = lines[2:5]
    assert "| 282K |" in first and "| 417K |" in third  # '0.3M' vs '0.4M' before
    assert "| 1x28x28 |" in first  # '28' before
    assert "86.8% (10 ep)" in first  # the book's epochs
    assert "Intel Xeon Processor, 2 CPUs" in first
    assert "| n/a |" in first  # peak on a CPU: not a model's number
    assert "49.2 s †" in first and "†" not in second  # start-up flagged, with a note
    assert "†: the first model its bench process trained" in text
    assert "peak MiB: the CUDA allocator's peak" in text
    assert "failed: RuntimeError: boom" in lines[5]


def test_markdown_table_says_na_for_a_model_the_book_never_trained():
    text = zoo_report.markdown_table([ZOO[5]])
    assert "| resnext_d2l | 91.00% | n/a |" in text


def test_machine_names_the_cpu_model(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz\n")
    assert zoo.cpu_model_name(info) == "Intel Xeon Gold 6338 CPU @ 2.00GHz"
    assert zoo.cpu_model_name(tmp_path / "none")  # no /proc: the platform's word
    assert zoo.machine_name("cpu").endswith(" CPUs")


def test_the_peak_is_the_models_own_on_cuda_and_empty_elsewhere():
    history = [{"peak_memory_mb": 900.0}, {"peak_memory_mb": 1200.5}, {"peak_memory_mb": 1000}]
    assert zoo.model_peak_mib(history, "cuda:0") == 1200.5  # each epoch resets the counter
    assert zoo.model_peak_mib(history, "cpu") == ""


def test_rows_stored_before_mib_keep_a_cuda_peak_and_drop_a_cpu_one(tmp_path):
    path = tmp_path / "zoo-book.csv"
    path.write_text("model,status,device,peak_memory_mb\n"
                    "lenet_d2l,done,cpu,886.8\nlenet_bn,done,cuda:0,1200.5\n")
    cpu, gpu = zoo.read_rows(path)
    assert cpu["peak_memory_mib"] == "" and gpu["peak_memory_mib"] == "1200.5"
    assert "peak_memory_mb" not in cpu


def test_old_rows_without_channels_or_book_epochs_still_read():
    old = {**LENETS[2], "input_size": "28", "book_epochs": ""}
    assert zoo_report.input_text(old) == "1x28x28"
    assert zoo_report.book_epochs(old) == 10
    assert zoo_report.number("nan") is None and zoo_report.number("") is None
