"""Evaluation: the test-time views it averages, and how they reach the model."""

import pytest
import torch


def test_test_time_augmentation_averages_the_views_it_names():
    from cnnlab.data.augment import translate
    from cnnlab.data.loader import DeviceLoader
    from cnnlab.train.evaluate import evaluate, tta_views

    views = tta_views(flip=True, shift=1)
    assert {(dy, dx, m) for dy, dx, m, _ in views} == {
        (s, s, m) for s in (0, 1, -1) for m in (False, True)}
    assert sum(w for *_, w in views) == 1.0
    assert tta_views(flip=False) == [(0, 0, False, 1.0)]

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(),
                                torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 3))
    images = torch.randint(0, 256, (40, 1, 8, 8), dtype=torch.uint8)
    labels = torch.randint(0, 3, (40,))
    mean, std = [0.4], [0.3]
    loader = DeviceLoader(images, labels, 16, device="cpu", shuffle=False, mean=mean, std=std)
    black = torch.tensor([-mean[0] / std[0]]).view(1, 1, 1, 1)
    x = torch.cat([b for b, _ in loader])
    with torch.no_grad():
        expected = (0.25 * model(x) + 0.25 * model(x.flip(-1))
                    + 0.125 * model(translate(x, 1, 1, black))
                    + 0.125 * model(translate(x, 1, 1, black).flip(-1))
                    + 0.125 * model(translate(x, -1, -1, black))
                    + 0.125 * model(translate(x, -1, -1, black).flip(-1)))
    res = evaluate(model, loader, 3, torch.device("cpu"), tta_flip=True, tta_shift=1,
                   fill=[-mean[0] / std[0]])
    want = torch.nn.functional.cross_entropy(expected, labels).item()
    assert res.loss == pytest.approx(want, rel=1e-5)
    assert res.acc == pytest.approx((expected.argmax(1) == labels).float().mean().item())
    plain = evaluate(model, loader, 3, torch.device("cpu"))
    assert plain.loss != pytest.approx(res.loss, rel=1e-3)  # the views do change it
    assert evaluate(model, loader, 3, "cpu") == plain  # a device named, as before
    # All six views of a batch go through the model as one batch: one forward per batch.
    calls = []
    model.register_forward_hook(lambda module, args, out: calls.append(len(args[0])))
    evaluate(model, loader, 3, torch.device("cpu"), tta_flip=True, tta_shift=1,
             fill=[-mean[0] / std[0]])
    assert calls == [6 * 16, 6 * 16, 6 * 8]
    # Channels-last input stays channels_last (the layout the GPU's kernels are chosen for).
    from cnnlab.train.evaluate import tta_logits

    rgb = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(),
                              torch.nn.Linear(4 * 6 * 6, 3))
    seen = []
    rgb.register_forward_pre_hook(
        lambda module, args: seen.append(args[0].is_contiguous(memory_format=torch.channels_last)))
    x3 = torch.randn(5, 3, 8, 8).contiguous(memory_format=torch.channels_last)
    zero = torch.zeros(1, 3, 1, 1)
    with torch.no_grad():
        one_by_one = sum(w * rgb(translate(x3, dy, dx, zero).flip(-1) if m
                                 else translate(x3, dy, dx, zero)) for dy, dx, m, w in views)
        torch.testing.assert_close(tta_logits(rgb, x3, views, zero), one_by_one)
    assert seen[-1] and len(seen) == 1 + len(views)
    # Large inputs go view by view (memory of one view's forward), to the same average.
    import cnnlab.train.evaluate as evaluation

    with pytest.MonkeyPatch.context() as patch, torch.no_grad():
        patch.setattr(evaluation, "_ONE_BATCH_ELEMENTS", x3.numel())
        torch.testing.assert_close(tta_logits(rgb, x3, views, zero), one_by_one)
    assert len(seen) == 1 + 2 * len(views)


def test_channel_stats_are_tensor_mean_and_std_summed_a_chunk_at_a_time(monkeypatch):
    # Summed in chunks (a float copy of the whole split had been 4x its uint8 images,
    # on the device): equal to Tensor.mean/std of the whole, a constant channel at std 1.
    from cnnlab.train import evaluate as evaluation

    monkeypatch.setattr(evaluation, "_STATS_CHUNK", 7 * 3 * 5 * 6)  # 7 images at a time
    images = torch.randint(0, 256, (50, 3, 5, 6), dtype=torch.uint8)
    images[:, 2] = 9
    mean, std = evaluation.channel_stats(images)
    whole = images.float() / 255
    assert mean == pytest.approx(whole.mean(dim=(0, 2, 3)).tolist(), abs=1e-6)
    assert std[:2] == pytest.approx(whole.std(dim=(0, 2, 3))[:2].tolist(), abs=1e-6)
    assert std[2] == 1.0
