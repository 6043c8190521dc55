"""The zoo table's peak MiB note says what the number is: the highest of the epochs'
CUDA allocator peaks (model_peak_mib), which on a GPU is most often the first epoch's,
cuDNN's autotuning in it; the note said "in the model's last epoch"."""

from test_bench_zoo_report import ZOO

from cnnlab.bench import zoo, zoo_report


def test_the_peak_note_names_the_highest_epoch_not_the_last():
    history = [{"peak_memory_mb": 2100.0}, {"peak_memory_mb": 1500.0}]
    peak = zoo.model_peak_mib(history, "cuda:0")
    assert peak == 2100.0  # the first epoch's, autotuning included
    row = dict(ZOO[2], device="cuda:0", peak_memory_mib=str(peak))
    said = " ".join(zoo_report.markdown_table([row]).split())
    note = next(n for n in said.split("- ") if n.startswith("peak MiB"))
    assert "highest of the CUDA allocator's per-epoch peaks" in note
    assert "last epoch" not in note
