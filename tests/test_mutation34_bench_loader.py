"""The loader bench's clocks (mutation testing, session 40): the set-up phase is timed
around building the loader, and an epoch's clock stops only after the device is done."""

import pytest
import torch

from cnnlab.bench import loader as lb


def test_the_setup_phase_is_timed_around_building_the_loader(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(lb.time, "perf_counter", lambda: now[0])

    def make():  # building the loader takes 5 s; each of its 2 batches 1 s
        now[0] += 5.0

        def batches():
            for _ in range(2):
                now[0] += 1.0
                yield torch.zeros(3, 1), None
        return batches()

    phases = lb._measure_once(make, 1, torch.device("cpu"))
    assert phases["setup"] == (5.0, 0)
    assert phases["epoch 1"] == (2.0, 6)


def test_an_epochs_clock_stops_after_the_queued_work_is_done(monkeypatch):
    events, now = [], [0.0]

    def clock():
        events.append("clock")
        return now[0]

    monkeypatch.setattr(lb.time, "perf_counter", clock)
    monkeypatch.setattr(lb, "synchronize", lambda device: events.append("sync"))
    seconds, n = lb._time_epoch([(torch.zeros(4, 1), None)], torch.device("cpu"))
    # a GPU's batches are only ready once its kernels ran: wait, then read the clock
    assert events == ["sync", "clock", "sync", "clock"]
    assert (seconds, n) == (pytest.approx(0.0), 4)
