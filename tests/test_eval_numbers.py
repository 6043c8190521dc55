"""The numbers evaluation reports, each checked against plain torch (model.eval(), a loop
over the images, nothing of cnnlab's): accuracy, per-class accuracy, the confusion matrix
and the mean test loss, as evaluate() and evaluate_run (``cnnlab eval``) give them."""

import math

import pytest
import torch
import torch.nn.functional as F

from cnnlab.data.loader import DeviceLoader
from cnnlab.notices import SetupWarning
from cnnlab.train.evaluate import evaluate

MEAN, STD = 0.4, 0.3


def _bn_model(classes: int) -> torch.nn.Module:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4),
                                torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(4 * 6 * 6, classes))
    with torch.no_grad():  # running statistics far from a test batch's own
        for _ in range(3):
            model(torch.randn(32, 1, 8, 8) * 3 + 1)
    return model  # left in training mode, as the trainer hands it over


def _by_hand(model, images, labels, classes, bf16=False):
    """Logits one image at a time in eval mode; the numbers from them."""
    x = (images.float() / 255 - MEAN) / STD
    model.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = torch.cat([model(x[i:i + 1]).float() for i in range(len(x))])
    model.train()
    pred = logits.argmax(dim=1)
    confusion = [[0] * classes for _ in range(classes)]
    for t, p in zip(labels.tolist(), pred.tolist(), strict=True):
        confusion[t][p] += 1
    loss = F.cross_entropy(logits.double(), labels).item()  # the mean over images
    return loss, (pred == labels).sum().item() / len(labels), confusion


@pytest.mark.parametrize("amp", ["off", "bf16"])
def test_evaluation_counts_every_image_once_with_batch_norms_running_statistics(amp):
    # 37 images in batches of 16: a last batch of 5, which a mean of the batches' means
    # would weigh as much as a full one.
    model = _bn_model(3)
    images = torch.randint(0, 256, (37, 1, 8, 8), dtype=torch.uint8)
    labels = torch.randint(0, 3, (37,))
    loader = DeviceLoader(images, labels, 16, device="cpu", shuffle=False, mean=[MEAN],
                          std=[STD])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    res = evaluate(model, loader, 3, torch.device("cpu"), amp=amp)
    loss, acc, confusion = _by_hand(model, images, labels, 3, bf16=amp == "bf16")
    assert res.count == 37 and res.confusion == confusion and res.acc == acc
    # (bf16: the same products, batched otherwise; they round alike but for a few ulps.)
    assert res.loss == pytest.approx(loss, rel=1e-6 if amp == "off" else 1e-3)
    assert res.per_class_acc == [row[i] / sum(row) for i, row in enumerate(confusion)]
    # Evaluation normalised with the running statistics and left them as they were.
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model.training  # handed back in the mode it came in


def test_a_class_without_test_images_has_no_accuracy_not_zero():
    # Class 3 has no test image (a small split, an eval subset): its accuracy is unknown.
    # It was reported as 0.00%, as if every image of it had been missed.
    from cnnlab.train.evaluate import accuracy_words

    model = _bn_model(4)
    images = torch.randint(0, 256, (20, 1, 8, 8), dtype=torch.uint8)
    labels = torch.arange(20) % 3
    loader = DeviceLoader(images, labels, 8, device="cpu", shuffle=False, mean=[MEAN],
                          std=[STD])
    res = evaluate(model, loader, 4, torch.device("cpu"))
    assert math.isnan(res.per_class_acc[3]) and res.confusion[3] == [0, 0, 0, 0]
    assert all(0.0 <= a <= 1.0 for a in res.per_class_acc[:3])
    assert accuracy_words(res.per_class_acc[3]) == "n/a (no test images)"
    assert accuracy_words(0.5) == "50.00%"


def test_tied_logits_predict_the_first_class_as_torch_argmax_does():
    # A head of zeros scores every class alike: each image counts as class 0, as argmax
    # picks, so accuracy is class 0's share of the images, not a crash or a random pick.
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))
    torch.nn.init.zeros_(model[1].weight)
    torch.nn.init.zeros_(model[1].bias)
    labels = torch.tensor([0, 1, 2, 2, 0, 1, 2])
    loader = DeviceLoader(torch.zeros(7, 1, 8, 8, dtype=torch.uint8), labels, 4,
                          device="cpu", shuffle=False)
    res = evaluate(model, loader, 3, torch.device("cpu"))
    assert res.confusion == [[2, 0, 0], [2, 0, 0], [3, 0, 0]]
    assert res.acc == 2 / 7 and res.loss == pytest.approx(math.log(3))


def test_a_report_leaves_a_class_without_test_images_unscored(tmp_path):
    # The report's per-class table: no accuracy for an empty row, from a run that wrote
    # NaN and from one that wrote 0.0 before (its confusion row says it had no image).
    import json

    from cnnlab.train.report_evaluation import shown_evaluation

    confusion = [[3, 1, 0], [0, 0, 0], [1, 0, 2]]
    for recorded in (0.0, float("nan")):
        line = {"epoch": 1, "per_class_acc": {"a": 0.75, "b": recorded, "c": 2 / 3},
                "confusion": confusion}
        (tmp_path / "class_metrics.jsonl").write_text(json.dumps(line) + "\n",
                                                      encoding="utf-8")
        shown = shown_evaluation(tmp_path, {"best_epoch": 1, "classes": ["a", "b", "c"]})
        assert shown.per_class_acc == {"a": 0.75, "b": None, "c": 2 / 3}
        last = shown_evaluation(tmp_path, {"per_class_acc": line["per_class_acc"],
                                           "confusion": confusion, "final": {"epoch": 1}})
        assert last.per_class_acc["b"] is None and last.per_class_acc["a"] == 0.75


def test_eval_of_a_run_is_its_weights_on_the_first_n_images_by_hand(tmp_path, monkeypatch):
    # EMA weights, mirror test-time augmentation (logits averaged), label smoothing in
    # training only, an eval subset: cnnlab eval's numbers against the run's weights on
    # those images, and the run's own, and its headline says which images they were.
    import cnnlab.train.run as run_module
    from cnnlab.data.synthetic import make_synthetic
    from cnnlab.train import TrainConfig, evaluate_run, train
    from cnnlab.train.loaded_run import load_run

    data = make_synthetic(num_train=48, num_test=45, seed=3)
    monkeypatch.setattr(run_module, "load_training_data", lambda cfg, test_only=False: data)
    result = train(TrainConfig(
        model="lenet_modern", data="synthetic", epochs=1, device="cpu", deterministic=True,
        quiet=True, out_dir=str(tmp_path), run_name="tiny", batch_size=16, ema_decay=0.3,
        tta_flip=True, label_smoothing=0.2, eval_subset=37))
    run_dir = tmp_path / "tiny"
    for subset in (37, None):
        if subset is None:  # all 45, where the run scored its first 37: said
            with pytest.warns(SetupWarning, match="its first 37 test images"):
                scored = evaluate_run(run_dir, device="cpu")
        else:
            scored = evaluate_run(run_dir, device="cpu", eval_subset=subset)
        n = subset or 45
        run = load_run(run_dir)  # the EMA's weights: what training evaluated
        pp, x = run.preprocess, data.test.images[:n].float() / 255
        if pp.mean is not None:
            x = (x - torch.tensor(pp.mean).view(1, -1, 1, 1)) / torch.tensor(pp.std).view(
                1, -1, 1, 1)
        with torch.no_grad():
            logits = (0.5 * run.model(x) + 0.5 * run.model(x.flip(-1))).double()
        y = data.test.labels[:n]
        assert scored.result.count == n
        assert scored.result.acc == (logits.argmax(1) == y).sum().item() / n
        assert scored.result.loss == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-6)
        if subset:  # as the run itself scored these images (no label smoothing in it)
            assert (scored.result.acc, scored.result.loss) == (
                result.history[-1]["test_acc"], result.history[-1]["test_loss"])
            assert "on the first 37 of 45 test images" in scored.headline()
        else:
            assert "on 45 images" in scored.headline()


def test_a_class_without_test_images_is_null_in_the_runs_json_and_nan_read_back(tmp_path):
    # NaN, written as JSON's missing NaN, made summary.json and class_metrics.jsonl files
    # that strict readers (jq, JSON.parse) refuse whole.
    import json

    from cnnlab.data.synthetic import make_synthetic
    from cnnlab.train import TrainConfig, read_result, train

    def strict(text):
        return json.loads(text, parse_constant=lambda word: pytest.fail(f"{word} in JSON"))

    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, device="cpu",
                      quiet=True, out_dir=str(tmp_path), run_name="r", eval_subset=2)
    result = train(cfg, data=make_synthetic(num_train=64, num_test=16, seed=0), console=False)
    summary = strict((result.run_dir / "summary.json").read_text(encoding="utf-8"))
    assert list(summary["per_class_acc"].values()).count(None) >= 8
    for line in (result.run_dir / "class_metrics.jsonl").read_text(
            encoding="utf-8").splitlines():
        assert list(strict(line)["per_class_acc"].values()).count(None) >= 8
    read = read_result(result.run_dir).per_class_acc
    assert sum(math.isnan(acc) for acc in read.values()) >= 8
    assert [math.isnan(a) for a in read.values()] == [
        math.isnan(a) for a in result.per_class_acc.values()]
