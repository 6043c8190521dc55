"""`to_torchvision`: a cnnlab model, run or checkpoint as torchvision's own model, with the
same logits; the way back of `from_torchvision` (a user had to find the key maps, build
the torchvision model for the run's classes and swap its first conv for 1 channel)."""

import pytest
import torch
import torchvision

from cnnlab import get_model
from cnnlab.models.interop import WeightsMismatchError, to_torchvision

torch.set_num_threads(1)


def _same_logits(ours: torch.nn.Module, theirs: torch.nn.Module, channels: int = 1) -> None:
    x = torch.randn(2, channels, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(ours.eval()(x), theirs(x))


@pytest.mark.parametrize("name", ["resnet18", "regnet_y_400mf", "googlenet"])
def test_a_fashion_mnist_model_becomes_torchvisions_own(name):
    # 1 channel and 10 classes, as a Fashion-MNIST run builds it; regnet has a key map;
    # googlenet keeps its auxiliary heads (cnnlab's default)
    torch.manual_seed(0)
    ours = get_model(name, num_classes=10, in_channels=1)
    theirs = to_torchvision(ours)
    assert type(theirs).__module__.startswith("torchvision.models")
    assert not theirs.training
    _same_logits(ours, theirs)


@pytest.mark.filterwarnings("ignore:resnet18 was designed for 224x224")
def test_a_run_and_its_checkpoint_become_torchvisions_model(tmp_path):
    from cnnlab.train import TrainConfig, train
    from cnnlab.train.run import load_run

    train(TrainConfig(model="resnet18", data="synthetic", epochs=1, batch_size=8,
                      train_subset=8, eval_subset=8, device="cpu", quiet=True,
                      out_dir=str(tmp_path), run_name="r"))
    run = tmp_path / "r"
    ours = load_run(run).model
    for source in (run, run / "checkpoints" / "best.safetensors"):  # it names its model
        theirs = to_torchvision(source)
        assert isinstance(theirs, torchvision.models.ResNet)
        assert theirs.fc.out_features == 10 and theirs.conv1.in_channels == 1
        _same_logits(ours, theirs)


def test_a_tv_model_is_given_back_whole():
    torch.manual_seed(0)
    ours = get_model("tv:resnet18", num_classes=3)
    theirs = to_torchvision(ours)
    assert isinstance(theirs, torchvision.models.ResNet) and theirs.fc.out_features == 3
    _same_logits(ours, theirs, channels=3)


def test_weights_alone_need_their_name_and_must_fit_it():
    state = get_model("resnet18", num_classes=10).state_dict()
    with pytest.raises(ValueError, match=r"give name= .*name='resnet18'"):
        to_torchvision(state)
    assert to_torchvision(state, name="resnet18").fc.out_features == 10
    with pytest.raises(WeightsMismatchError, match="layer1.2.conv1.weight"):
        to_torchvision(get_model("resnet34").state_dict(), name="resnet18")


def test_a_checkpoint_keeps_its_runs_transform_input(tmp_path, monkeypatch):
    # GoogLeNet started from ImageNet weights normalises its input itself; its run's
    # checkpoint records that (model_overrides). Read from the checkpoint file, it was
    # dropped: the logits then differed by thousands, silently.
    import cnnlab.models.interop as interop

    torch.manual_seed(0)
    ours = get_model("googlenet", num_classes=10, transform_input=True).eval()
    checkpoint = tmp_path / "best.safetensors"
    checkpoint.write_bytes(b"")
    monkeypatch.setattr(interop, "read_weights_and_overrides",
                        lambda path: (ours.state_dict(), {"transform_input": True}))
    theirs = to_torchvision(checkpoint, name="googlenet")
    assert theirs.transform_input
    _same_logits(ours, theirs, channels=3)
