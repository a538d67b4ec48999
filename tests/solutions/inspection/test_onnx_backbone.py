"""A user's own ONNX backbone (``--backbone onnx``), and the edge path without torch.

The ONNX graphs are made here: the shipped EfficientNet-Lite0 exported whole, as a classifier
with its batch fixed to 1 (as many exports are), and a small ResNet-shaped network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from aion.solutions.inspection import InspectionError, InspectionModel, TrainConfig, evaluate, train
from aion.solutions.inspection import onnxbackbone as ob
from aion.solutions.inspection.backbones import EfficientNetLite0Features, PatchGraph
from aion.solutions.inspection.cli import app
from aion.solutions.inspection.onnxgraph import patch_graph
from aion.solutions.inspection.runners import OnnxRunner

from .conftest import RESOLUTION

runner = CliRunner()


def _export(module: nn.Module, path: Path, size: int, dynamic: bool) -> Path:
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            (torch.zeros(1, 3, size, size),),
            str(path),
            input_names=["image"],  # the name of our own graph's input: renamed inside
            output_names=["logits"],
            dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}} if dynamic else None,
            opset_version=17,
            dynamo=False,
        )
    return path


@pytest.fixture(scope="module")
def lite0_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole shipped Lite0 classifier, fixed to one 96 x 96 image."""
    from efficientnet_lite_pytorch import EfficientNet

    from aion.solutions.inspection.backbones import _load_state_dict, default_lite0_weights

    net = EfficientNet.from_name("efficientnet-lite0", image_size=RESOLUTION)
    net.load_state_dict(_load_state_dict(default_lite0_weights()))
    return _export(net, tmp_path_factory.mktemp("onnx") / "lite0.onnx", RESOLUTION, dynamic=False)


class _Residual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)  # stride in the second conv, as torchvision's
        self.conv2 = nn.Conv2d(cout, cout, 3, stride, 1)
        self.skip = nn.Conv2d(cin, cout, 1, stride) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv2(torch.relu(self.conv1(x))) + self.skip(x))


def _tiny_resnet(stages: int = 4) -> nn.Module:
    torch.manual_seed(0)
    widths = [8, 16, 24, 32][:stages]
    layers: list[nn.Module] = [nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.MaxPool2d(2)]  # stride 4
    cin = 8
    for i, w in enumerate(widths):
        layers += [_Residual(cin, w, 1 if i == 0 else 2), _Residual(w, w, 1)]
        cin = w
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 5))


def test_the_stage_ends_at_stride_8_and_16_are_found(lite0_onnx: Path, tmp_path: Path) -> None:
    maps = ob.feature_maps(ob.read_model(lite0_onnx), RESOLUTION)
    fine, coarse = ob.choose_levels(maps, None)
    # Lite0's stage ends (blocks 4 and 10, the built-in default), not the wider expansion maps
    # of the next stages' first blocks, which run at the old stride and come later in the graph
    assert (fine.stride, fine.channels, fine.residual) == (8, 40, True)
    assert (coarse.stride, coarse.channels, coarse.residual) == (16, 112, True)
    assert any(m.stride == 8 and m.order > fine.order and m.channels == 240 for m in maps)

    resnet = ob.read_model(_export(_tiny_resnet(), tmp_path / "r.onnx", 128, dynamic=True))
    maps = ob.feature_maps(resnet, 128)
    fine, coarse = ob.choose_levels(maps, None)
    # the ReLU after the residual sum (a ResNet layer's output), not the next layer's first conv
    assert (fine.op, fine.stride, fine.channels) == ("Relu", 8, 16)
    assert (coarse.op, coarse.stride, coarse.channels) == ("Relu", 16, 24)
    assert any(m.stride == 8 and m.order > fine.order and m.channels == 24 for m in maps)


def test_an_unchanged_file_is_read_once_and_a_replaced_one_again(tmp_path: Path) -> None:
    """The command asks for the input size, then training for the maps: one parse of a large
    graph; a file written anew (another graph under the same name) is read again, and a file
    turned to junk is refused, not answered from memory."""
    path = _export(_tiny_resnet(), tmp_path / "r.onnx", 128, dynamic=True)
    first = ob.read_model(path)
    assert ob.read_model(path) is first and ob.read_model(str(path)) is first
    _export(_tiny_resnet(stages=2), path, 64, dynamic=True)
    os.utime(path, ns=(first_ns := path.stat().st_mtime_ns + 10**9, first_ns))  # a later write
    second = ob.read_model(path)
    assert second is not first and len(second.graph.node) < len(first.graph.node)
    path.write_bytes(b"junk")
    with pytest.raises(InspectionError, match="Cannot read the ONNX backbone file"):
        ob.read_model(path)


def test_the_patch_graph_computes_what_the_builtin_backbone_does(lite0_onnx: Path) -> None:
    model = ob.read_model(lite0_onnx)
    levels = ob.choose_levels(ob.feature_maps(model, RESOLUTION), None)
    mean, std = ob.PIXEL_NORMS["imagenet"]
    scale = np.random.default_rng(1).uniform(0.5, 2.0, 152).astype(np.float32)
    ours = OnnxRunner(patch_graph(model, RESOLUTION, levels, mean, std, scale), threads=2)
    builtin = PatchGraph(EfficientNetLite0Features(RESOLUTION), mean, std).eval()
    builtin.set_feature_scale(scale)
    pixels = np.random.default_rng(2).integers(0, 256, (3, RESOLUTION, RESOLUTION, 3), dtype=np.uint8)
    with torch.no_grad():
        want = builtin(torch.from_numpy(pixels)).numpy()
    got = ours(pixels)  # three images through a graph exported for one
    assert got.shape == want.shape == (3, (RESOLUTION // 8) ** 2, 152)
    assert np.abs(got - want).max() < 1e-3 * np.abs(want).max()
    assert ours.grey_input  # a grey image goes in as one channel
    grey = pixels[..., :1]
    with torch.no_grad():
        want_grey = builtin(torch.from_numpy(grey)).numpy()
    assert np.abs(ours(grey) - want_grey).max() < 1e-3 * np.abs(want_grey).max()


class _ChannelsLast(nn.Module):
    """``net`` taking ``(N, H, W, 3)`` images, as TensorFlow and Keras graphs do."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.permute(0, 3, 1, 2))


class _MapChannelsLast(nn.Module):
    """``net`` with its stride-4 stage's output held channels last for one step."""

    def __init__(self, net: nn.Sequential) -> None:
        super().__init__()
        self.head, self.tail = net[:5], net[5:]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.head(x).permute(0, 2, 3, 1))  # an op between: the transposes stay
        return self.tail(y.permute(0, 3, 1, 2))


def test_channels_last_images_and_maps(tmp_path: Path) -> None:
    net = _tiny_resnet()
    mean, std = ob.PIXEL_NORMS["imagenet"]
    pixels = np.random.default_rng(3).integers(0, 256, (2, 128, 128, 3), dtype=np.uint8)

    def features(model: object, layers: list[str] | None = None) -> np.ndarray:
        levels = ob.choose_levels(ob.feature_maps(model, 128), layers)
        return OnnxRunner(patch_graph(model, 128, levels, mean, std), threads=2)(pixels)

    first = ob.read_model(_export(net, tmp_path / "nchw.onnx", 128, dynamic=True))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _ChannelsLast(net).eval(),
            (torch.zeros(1, 128, 128, 3),),
            str(tmp_path / "nhwc.onnx"),
            input_names=["x"],
            dynamic_axes={"x": {0: "n"}},
            opset_version=17,
            dynamo=False,
        )
    last = ob.read_model(tmp_path / "nhwc.onnx")
    assert not ob.channels_last(first) and ob.channels_last(last)
    assert np.abs(features(last) - features(first)).max() < 1e-5  # same maps, same features

    inner = ob.read_model(_export(_MapChannelsLast(net), tmp_path / "inner.onnx", 128, dynamic=True))
    maps = ob.feature_maps(inner, 128)
    held = [m for m in maps if m.channels_last and m.op == "Relu"]
    assert [(m.stride, m.channels) for m in held] == [(4, 8)]
    same = max(
        (m for m in maps if m.stride == 4 and m.residual and not m.channels_last), key=lambda m: m.order
    )
    coarse = ob.default_levels(maps)[1]
    assert np.abs(features(inner, [held[0].name, coarse]) - features(inner, [same.name, coarse])).max() < 1e-5


def test_a_model_on_an_onnx_backbone_finds_defects_and_reloads(
    lite0_onnx: Path, mvtec_dir: Path, tmp_path: Path
) -> None:
    cfg = TrainConfig(
        backbone="onnx", weights=lite0_onnx, resolution=RESOLUTION, threads=2, min_bank_size=200
    )
    model = train(mvtec_dir, cfg)
    assert model.meta.backbone == "onnx" and model.meta.feature_dim == 152
    assert model.meta.layers == ["/_blocks.4/Add_output_0", "/_blocks.10/Add_output_0"]
    path = model.save(tmp_path / "onnx.aion")
    with InspectionModel.load(path, threads=2) as edge:
        report = evaluate(edge, mvtec_dir)
        assert report.image_auroc is not None and report.image_auroc >= 0.9
        assert report.pixel_auroc is not None and report.pixel_auroc >= 0.9
        images = [np.asarray(item.load()) for item in model_items(mvtec_dir)]
        a = model.predict(images)
        b = edge.predict(images)
    assert np.allclose([p.score for p in a], [p.score for p in b], atol=1e-3)


def model_items(root: Path) -> list:
    from aion.solutions.inspection import load_dataset

    return list(load_dataset(root).test)[:4]


NO_TORCH = """
import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is not installed here")
sys.meta_path.insert(0, NoTorch())
"""


def _without_torch(code: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", NO_TORCH + code], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_edge_path_and_an_onnx_backbone_need_no_torch(
    trained, lite0_onnx: Path, mvtec_dir: Path, tmp_path: Path
) -> None:
    """A model file runs with onnxruntime and numpy alone; with an ONNX backbone, so does training."""
    _, path, edge = trained
    image = sorted((mvtec_dir / "test").rglob("*.png"))[-1]
    got = _without_torch(
        f"""
import json
from aion.solutions.inspection import InspectionModel
with InspectionModel.load({str(path)!r}, threads=2) as m:
    p = m.predict_files([{str(image)!r}]).predictions[0]
print(json.dumps({{"score": p.score, "torch": "torch" in sys.modules}}))
"""
    )
    assert got["torch"] is False
    assert abs(got["score"] - edge.predict_files([image]).predictions[0].score) < 1e-3

    got = _without_torch(
        f"""
import json
from aion.solutions.inspection import TrainConfig, train
m = train({str(mvtec_dir)!r}, TrainConfig(backbone="onnx", weights={str(lite0_onnx)!r}, resolution={RESOLUTION}, threads=2))
m.save({str(tmp_path / "t.aion")!r})
print(json.dumps({{"bank": int(m.memory_bank_.shape[0]), "torch": "torch" in sys.modules}}))
"""
    )
    assert got["torch"] is False and got["bank"] > 0
    assert (tmp_path / "t.aion").stat().st_size > 0

    # what needs torch says which install brings it (the "train" extra), in both languages
    got = _without_torch(
        f"""
import json
import numpy as np
from aion.solutions.inspection import InspectionError, TrainConfig, train
from aion.solutions.process.detectors import ConvAutoencoderDetector
from aion.solutions.process.errors import ProcessError
said = {{}}
try:
    train({str(mvtec_dir)!r}, TrainConfig(resolution={RESOLUTION}, threads=2))
except InspectionError as e:
    said["inspection"] = str(e)
try:
    ConvAutoencoderDetector(epochs=1).fit(np.random.default_rng(0).normal(size=(300, 3)))
except ProcessError as e:
    said["process"] = str(e)
print(json.dumps(said))
"""
    )
    assert "efficientnet-lite0" in got["inspection"] and "pip install 'aion[train]'" in got["inspection"]
    assert "torch가 필요합니다" in got["process"] and "pip install 'aion[train]'" in got["process"]


def test_torch_is_asked_for_only_by_the_train_extra() -> None:
    """An edge PC installs the package without torch; `make install` and `[dev]` bring it."""
    from importlib.metadata import requires

    torch_reqs = [r for r in requires("aion") or [] if r.startswith(("torch", "efficientnet"))]
    assert torch_reqs and all('extra == "train"' in r for r in torch_reqs), torch_reqs
    assert any(r.startswith("onnxruntime") and "extra" not in r for r in requires("aion") or [])


def test_the_layers_command_and_chosen_layers(lite0_onnx: Path, mvtec_dir: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["layers", str(lite0_onnx), "--json"])  # at the graph's own 96 x 96
    assert res.exit_code == 0, res.output
    maps = json.loads(res.stdout)["maps"]
    assert [m["name"] for m in maps if m["default"]] == [
        "/_blocks.4/Add_output_0",
        "/_blocks.10/Add_output_0",
    ]
    res = runner.invoke(app, ["layers", str(lite0_onnx), "--resolution", str(RESOLUTION)])
    assert res.exit_code == 0 and "*      8        40  Add" in res.stdout

    out = tmp_path / "m.aion"
    args = ["train", str(mvtec_dir), "--out", str(out), "--backbone", "onnx", "--weights", str(lite0_onnx)]
    args += ["--threads", "2", "--json"]  # no --resolution: the graph is fixed to 96 x 96
    res = runner.invoke(app, [*args, "--layers", "/_blocks.2/Add_output_0,/_blocks.10/Add_output_0"])
    assert res.exit_code == 0, res.output
    with InspectionModel.load(out) as m:  # a stride-4 level (24 channels) pooled onto the grid
        assert m.meta.feature_dim == 24 + 112 and m.meta.layers[0] == "/_blocks.2/Add_output_0"
        assert m.meta.resolution == RESOLUTION
        assert m.meta.mean == ob.PIXEL_NORMS["imagenet"][0]


def test_bad_onnx_backbones_are_refused_with_the_reason(
    lite0_onnx: Path, mvtec_dir: Path, tmp_path: Path
) -> None:
    def refused(**kw: object) -> str:
        cfg = {"backbone": "onnx", "weights": lite0_onnx, "resolution": RESOLUTION, "threads": 2, **kw}
        with pytest.raises(InspectionError) as e:
            train(mvtec_dir, TrainConfig(**cfg))  # type: ignore[arg-type]
        return str(e.value)

    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a graph at all")
    assert "Cannot read the ONNX backbone file" in refused(weights=junk) and "junk.onnx" in refused(
        weights=junk
    )
    assert "use --resolution 96" in refused(resolution=128)
    assert "multiple of 32" in refused(resolution=100)
    assert "No such feature map" in refused(layers=("/nope",)) and "/nope" in refused(layers=("/nope",))
    assert "needs a --weights file" in refused(weights=None)
    assert "valid: imagenet, symmetric, unit" in refused(pixel_norm="bgr")
    assert "for --backbone onnx only" in refused(backbone="efficientnet-lite0", weights=None, layers=("a",))
    shallow = _export(_tiny_resnet(stages=2), tmp_path / "shallow.onnx", 64, dynamic=True)
    assert "no stride-16 feature map (strides found: [4, 8])" in refused(weights=shallow, resolution=64)

    res = runner.invoke(
        app, ["train", str(mvtec_dir), "--out", str(tmp_path / "x.aion"), "--backbone", "onnx"]
    )
    assert res.exit_code == 2 and "--weights" in res.output
    res = runner.invoke(app, ["layers", str(junk)])
    assert res.exit_code == 2 and "junk.onnx" in res.output
