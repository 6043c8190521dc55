"""cnnlab.interrupts.SigintRecorder and interrupt_wins, driven by a real SIGINT: Ctrl-C is
told from a failure, held back over a deferred block, and the handler before is put
back however the block ends."""

import os
import signal

import pytest

from cnnlab.interrupts import SigintRecorder, from_interrupt, interrupt_wins


def ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)  # delivered before the next bytecode


def test_the_handler_before_is_put_back_however_the_block_ends(pythons_ctrl_c):
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt), SigintRecorder() as sigint:
        assert signal.getsignal(signal.SIGINT) is not before
        ctrl_c()
    assert sigint.received
    assert signal.getsignal(signal.SIGINT) is before


def test_a_ctrl_c_in_a_deferred_block_is_raised_once_the_block_ends(pythons_ctrl_c):
    held, done = [], []
    with pytest.raises(KeyboardInterrupt), SigintRecorder() as sigint, \
            sigint.deferred(on_held=lambda: held.append(1)):
        ctrl_c()
        ctrl_c()  # pressed again: still the block finishes, told once why
        done.append(1)
    assert done == [1] and held == [1]


def test_an_error_a_ctrl_c_became_ends_the_block_as_an_interrupt(pythons_ctrl_c):
    # As the torch.export-based exporter does: the KeyboardInterrupt is only the context.
    def exporter():
        try:
            ctrl_c()
        except KeyboardInterrupt:
            raise RuntimeError("export failed") from None

    with pytest.raises(KeyboardInterrupt), interrupt_wins():
        exporter()
    with pytest.raises(RuntimeError), interrupt_wins():
        raise RuntimeError("a plain failure stays one")


def test_an_interrupt_is_found_through_contexts_as_well_as_causes():
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise ValueError("later") from None  # context kept, suppressed from display
    except ValueError as exc:
        assert from_interrupt(exc)
    assert not from_interrupt(ValueError("no interrupt"))
