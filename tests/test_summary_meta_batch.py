"""A summary on the meta device is for shapes and MACs at any batch: its input is not
drawn on the CPU first (a batch of a billion 28x28 images asked the CPU for 3 TB)."""

from cnnlab import summary


def test_a_meta_summary_at_a_huge_batch_allocates_nothing():
    shown = summary("lenet_d2l", (1, 28, 28), batch_size=10**9, device="meta", depth=0)
    assert shown.totals.macs == 10**9 * summary("lenet_d2l", (1, 28, 28), depth=0).totals.macs
    assert shown.totals.input_bytes == 10**9 * 28 * 28 * 4
