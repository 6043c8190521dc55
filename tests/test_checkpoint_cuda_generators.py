"""Each GPU's random generator goes back to its own device on resume, by device number,
on a machine with as many GPUs or fewer (CUDA simulated: this machine may have none)."""

import torch

from cnnlab.train import checkpoint as ckpt


def _fake_cuda(monkeypatch, gpus: int, states: list[torch.Tensor] | None = None) -> dict:
    """torch.cuda as seen on a machine with ``gpus`` GPUs; returns {device: state set}."""
    restored: dict[int, torch.Tensor] = {}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: [s.clone() for s in states or []])

    def set_rng_state(state, device):
        assert 0 <= device < gpus, f"device {device} on a machine with {gpus} GPUs"
        restored[device] = state.clone()

    monkeypatch.setattr(torch.cuda, "set_rng_state", set_rng_state)
    return restored


def test_twelve_gpus_states_go_back_to_their_own_devices_on_twelve_and_on_three(
        tmp_path, monkeypatch):
    # Device 10's state written as "rng.cuda.10": sorted as text it comes before
    # "rng.cuda.2", and device 2 would draw device 10's dropout masks.
    states = [torch.full((16,), i, dtype=torch.uint8) for i in range(12)]
    model = torch.nn.Linear(2, 2)
    with monkeypatch.context() as m:
        _fake_cuda(m, 12, states)
        ckpt.save_checkpoint(tmp_path / "last.safetensors", model.state_dict(), {"epoch": 1})
    groups, _ = ckpt.load_checkpoint(tmp_path / "last.safetensors")
    assert sorted(k for k in groups["rng"] if k.startswith("rng.cuda.")) == sorted(
        f"rng.cuda.{i}" for i in range(12))

    with monkeypatch.context() as m:
        restored = _fake_cuda(m, 12)
        ckpt.restore_rng_state(groups["rng"])
    assert sorted(restored) == list(range(12))
    for device, state in restored.items():
        assert torch.equal(state, states[device]), device

    with monkeypatch.context() as m:  # resumed on a machine with fewer GPUs
        restored = _fake_cuda(m, 3)
        ckpt.restore_rng_state(groups["rng"])
    assert sorted(restored) == [0, 1, 2]
    for device, state in restored.items():
        assert torch.equal(state, states[device]), device
