"""The op bench's tables cell by cell under their headers (mutation testing, session 40):
a ratio turned upside down reads as the opposite finding."""

from cnnlab.bench.ops import render_ops_bench


def _columns(table) -> dict[str, list[str]]:
    """A rich table's cells by header (a repeated header: its later column as "name 2")."""
    out = {}
    for column in table.columns:
        name = column.header if column.header not in out else f"{column.header} 2"
        out[name] = list(column.cells)
    return out


def test_the_op_bench_tables_put_each_number_under_its_header():
    kernel = {"image": 28, "kernel": 7, "batch": 2, "channels": 4, "torch_ms": 2.0,
              "scratch_ms": 6.0, "scratch_method": "shift", "shift_ms": 6.0,
              "unfold_ms": None, "fft_ms": 1.0}
    groups = {"groups": 2, "macs_m": 1.5, "ideal_speedup": 2.0, "torch_ms": 4.0,
              "torch_speedup": 1.5, "scratch_ms": 8.0, "scratch_method": "unfold",
              "scratch_speedup": 1.25, "fft_ms": 9.0, "fft_speedup": 1.1}
    target = {"image": 8, "batch": 2, "channels": 4, "torch_ms": 1.0, "scratch_ms": 3.0,
              "ratio": 3.0, "torch_train_ms": 2.0, "scratch_train_ms": 5.0,
              "train_ratio": 2.5}
    result = {"threads": 1, "kernels": [kernel],
              "crossover": [{"image": 28, "vs_torch": 7, "vs_scratch": None}],
              "groups": [groups], "target": [target], "pooling": []}
    kernels, crossover, grouped, goal, _ = render_ops_bench(result)
    assert _columns(kernels) == {
        "image": ["28"], "kernel": ["7"], "torch": ["2.00"], "scratch (method)": ["6.00 (shift)"],
        "shift": ["6.00"], "unfold": ["-"], "fft": ["1.00"], "scratch / torch": ["3.00x"],
        "fft / torch": ["0.50x"]}
    assert _columns(crossover) == {"image": ["28"], "vs PyTorch conv": ["7"],
                                   "vs from-scratch conv": ["never"]}
    assert _columns(grouped) == {
        "groups": ["2"], "MMACs": ["1.5"], "ideal": ["2x"], "torch": ["4.00"],
        "torch speedup": ["1.50x"], "scratch (method)": ["8.00 (unfold)"],
        "scratch speedup": ["1.25x"], "fft": ["9.00"], "fft speedup": ["1.10x"]}
    assert _columns(goal) == {
        "input": ["2x4x8x8"], "torch fwd": ["1.00"], "scratch fwd": ["3.00"], "ratio": ["3.00x"],
        "torch fwd+bwd": ["2.00"], "scratch fwd+bwd": ["5.00"], "ratio 2": ["2.50x"]}


def test_the_scratch_time_is_the_method_conv2d_would_pick(monkeypatch):
    import torch

    from cnnlab.bench import ops

    monkeypatch.setattr(ops, "time_calls", lambda calls, repeats: {
        name: {"torch": 0.001, "shift": 0.002, "unfold": 0.003, "fft": 0.004}[name]
        for name in calls})
    x, w, b = ops._inputs(1, 2, 2, 6, 3)
    for method, ms in (("unfold", 3.0), ("shift", 2.0)):
        monkeypatch.setattr(ops, "choose_method", lambda geom, method=method: method)
        got = ops._forward_times(x, w, b, 1, 1, repeats=1)
        assert (got["auto_method"], got["scratch"]) == (method, ms)
    # forward rows time inference: no autograd graph is built
    seen = []
    monkeypatch.setattr(ops, "time_calls", lambda calls, repeats: seen.append(
        torch.is_grad_enabled()) or dict.fromkeys(calls, 0.001))
    ops._forward_times(x, w, b, 1, 1, repeats=1)
    assert seen == [False]


def test_a_training_call_backpropagates_to_input_weight_and_bias():
    import torch

    from cnnlab.bench import ops

    grads = []

    def op(x, w, b, padding):
        for t in (x, w, b):
            t.register_hook(grads.append)  # runs when backward reaches it
        return torch.nn.functional.conv2d(x, w, b, padding=padding)

    x, w, b = ops._inputs(1, 2, 2, 4, 3)
    ops._training_call(op, x, w, b)()
    assert len(grads) == 3
