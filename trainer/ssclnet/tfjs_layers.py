"""Build a Keras-style functional graph (TensorFlow.js "layers-model" topology) from a `Classifier`.

No TensorFlow is needed: the topology is plain JSON and the weights plain little-endian arrays. What differs
between PyTorch and TensorFlow, and how it is bridged here:
  - layout: PyTorch is NCHW with OIHW kernels, TF.js NHWC with HWIO kernels -> kernels are transposed, the
    input is NHWC; a Linear weight (out, in) becomes a Dense kernel (in, out);
  - padding: PyTorch pads symmetrically, TF's 'same' pads the extra pixel at the bottom/right for stride 2.
    Every strided conv (the 7x7/2 stem, the 3x3/2 convs) gets an explicit ZeroPadding2D + 'valid' conv;
    stride-1 3x3 convs with padding 1 are the same in both ('same');
  - max-pool: PyTorch pads with -inf, we pad with zeros: exact here because it follows a ReLU (inputs >= 0)
    and every window holds at least one real pixel;
  - BatchNormalization: PyTorch's epsilon (1e-5, read from the module) instead of Keras's 1e-3.
With `fold` (the default) each conv + BatchNorm (+ ReLU) pair becomes one Conv2D with a bias and, where
a ReLU follows directly, activation 'relu': TF.js runs that as one fused conv kernel instead of three passes
over the activations (issue 16). The stem's and the blocks' first ReLUs are then part of their conv layers; the
layer names the viewer reads (`avgpool`, `logits`, `layer{L}_{B}_out`) are the same either way.
The graph ends with Dense (logits, linear) -> Activation softmax, so the model outputs probabilities and
`logits` stays reachable by layer name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from torch import nn

ZEROS = {"class_name": "Zeros", "config": {}}  # initialisers are overwritten by the weights; zeros load fastest
ONES = {"class_name": "Ones", "config": {}}
LOGITS_LAYER = "logits"
OUTPUT_LAYER = "probabilities"
INPUT_LAYER = "input"


@dataclass
class Graph:
    """Layers (Keras config dicts) in topological order, and the weights in manifest order."""

    layers: list[dict[str, Any]] = field(default_factory=list)
    weights: list[tuple[str, np.ndarray]] = field(default_factory=list)

    def add(self, class_name: str, name: str, config: dict[str, Any], inputs: list[str]) -> str:
        config = {"name": name, "trainable": False, **config}
        inbound = [[[i, 0, 0, {}] for i in inputs]] if inputs else []
        self.layers.append({"class_name": class_name, "name": name, "config": config, "inbound_nodes": inbound})
        return name

    def add_weight(self, name: str, value: np.ndarray) -> None:
        self.weights.append((name, np.ascontiguousarray(value, dtype=np.float32)))


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)


def fold_batchnorm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[np.ndarray, np.ndarray]:
    """(OIHW weight, bias) of one conv equal to conv followed by bn in eval mode, computed in float64."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("BatchNorm without running statistics can't be folded")
    w = conv.weight.detach().double().cpu().numpy()
    gamma = bn.weight.detach().double().cpu().numpy() if bn.weight is not None else np.ones(bn.num_features)
    beta = bn.bias.detach().double().cpu().numpy() if bn.bias is not None else np.zeros(bn.num_features)
    mean = bn.running_mean.detach().double().cpu().numpy()
    scale = gamma / np.sqrt(bn.running_var.detach().double().cpu().numpy() + bn.eps)
    b = conv.bias.detach().double().cpu().numpy() if conv.bias is not None else 0.0
    return (w * scale[:, None, None, None]).astype(np.float32), (beta + (b - mean) * scale).astype(np.float32)


def conv_bn_pairs(model: nn.Module) -> list[tuple[nn.Conv2d, nn.BatchNorm2d]]:
    """Every (conv, the BatchNorm right after it) of a `Classifier`'s ResNet-18 trunk."""
    enc = model.encoder
    pairs = [(enc.conv1, enc.bn1)]
    for li in range(1, 5):
        for block in getattr(enc, f"layer{li}"):
            pairs += [(block.conv1, block.bn1), (block.conv2, block.bn2)]
            if block.downsample is not None:
                pairs.append((block.downsample[0], block.downsample[1]))
    return pairs


def fold_batchnorm_(model: nn.Module) -> nn.Module:
    """In place: each conv takes its BatchNorm's scale, and the BatchNorm becomes the identity plus the folded
    bias (weight 1, running mean 0, running variance 1 - eps) -- the same function in eval mode, in the form the
    folded artifact stores (so parity vectors, uint8 rounding and `import_tfjs` all see the stored weights)."""
    import torch

    with torch.no_grad():
        for conv, bn in conv_bn_pairs(model):
            w, b = fold_batchnorm(conv, bn)
            conv.weight.copy_(torch.from_numpy(w))
            bn.weight.fill_(1.0)
            bn.bias.copy_(torch.from_numpy(b))
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
    return model


def _conv(
    g: Graph,
    name: str,
    conv: nn.Conv2d,
    x: str,
    *,
    folded: tuple[np.ndarray, np.ndarray] | None = None,
    activation: str = "linear",
) -> str:
    k, s, p = conv.kernel_size[0], conv.stride[0], conv.padding[0]
    if (
        conv.kernel_size[0] != conv.kernel_size[1]
        or conv.stride[0] != conv.stride[1]
        or conv.padding[0] != conv.padding[1]
    ):
        raise ValueError(f"{name}: only square kernels, strides and paddings are supported")
    if conv.groups != 1 or conv.dilation != (1, 1):
        raise ValueError(f"{name}: grouped or dilated convolutions are not supported")
    if s == 1 and 2 * p == k - 1:
        padding = "same"  # symmetric in both frameworks for odd kernels at stride 1
    elif p == 0:
        padding = "valid"
    else:
        x = g.add("ZeroPadding2D", f"{name}_pad", {"padding": [[p, p], [p, p]], "data_format": "channels_last"}, [x])
        padding = "valid"
    config = {
        "filters": conv.out_channels,
        "kernel_size": [k, k],
        "strides": [s, s],
        "padding": padding,
        "data_format": "channels_last",
        "dilation_rate": [1, 1],
        "activation": activation,
        "use_bias": folded is not None or conv.bias is not None,
        "kernel_initializer": ZEROS,
        "bias_initializer": ZEROS,
    }
    out = g.add("Conv2D", name, config, [x])
    weight, bias = (
        folded if folded is not None else (_np(conv.weight), _np(conv.bias) if conv.bias is not None else None)
    )
    g.add_weight(f"{name}/kernel", weight.transpose(2, 3, 1, 0))  # OIHW -> HWIO
    if bias is not None:
        g.add_weight(f"{name}/bias", bias)
    return out


def _bn(g: Graph, name: str, bn: nn.BatchNorm2d, x: str) -> str:
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError(f"{name}: BatchNorm without running statistics can't be exported")
    config = {
        "axis": -1,
        "momentum": 0.99,
        "epsilon": float(bn.eps),
        "center": True,
        "scale": True,
        "beta_initializer": ZEROS,
        "gamma_initializer": ONES,
        "moving_mean_initializer": ZEROS,
        "moving_variance_initializer": ONES,
    }
    out = g.add("BatchNormalization", name, config, [x])
    gamma = _np(bn.weight) if bn.weight is not None else np.ones(bn.num_features, np.float32)
    beta = _np(bn.bias) if bn.bias is not None else np.zeros(bn.num_features, np.float32)
    g.add_weight(f"{name}/gamma", gamma)
    g.add_weight(f"{name}/beta", beta)
    g.add_weight(f"{name}/moving_mean", _np(bn.running_mean))
    g.add_weight(f"{name}/moving_variance", _np(bn.running_var))
    return out


def _relu(g: Graph, name: str, x: str) -> str:
    return g.add("Activation", name, {"activation": "relu"}, [x])


def _conv_bn(
    g: Graph, conv_name: str, bn_name: str, conv: nn.Conv2d, bn: nn.BatchNorm2d, x: str, *, relu: str | None, fold: bool
) -> str:
    """conv -> BatchNorm (-> ReLU named `relu`): three layers, or one Conv2D with bias (and fused ReLU) folded."""
    if fold:
        return _conv(g, conv_name, conv, x, folded=fold_batchnorm(conv, bn), activation="relu" if relu else "linear")
    y = _bn(g, bn_name, bn, _conv(g, conv_name, conv, x))
    return _relu(g, relu, y) if relu else y


def _basic_block(g: Graph, name: str, block: nn.Module, x: str, fold: bool) -> str:
    y = _conv_bn(g, f"{name}_conv1", f"{name}_bn1", block.conv1, block.bn1, x, relu=f"{name}_relu1", fold=fold)
    y = _conv_bn(g, f"{name}_conv2", f"{name}_bn2", block.conv2, block.bn2, y, relu=None, fold=fold)
    shortcut = x
    if block.downsample is not None:
        conv, bn = block.downsample[0], block.downsample[1]
        shortcut = _conv_bn(g, f"{name}_down_conv", f"{name}_down_bn", conv, bn, x, relu=None, fold=fold)
    s = g.add("Add", f"{name}_add", {}, [y, shortcut])
    return _relu(g, f"{name}_out", s)


def build_graph(model: nn.Module, input_size: int, channels: int, *, fold: bool = True) -> Graph:
    """The functional graph of a `ssclnet.model.Classifier` (encoder.* ResNet-18 trunk + classifier Linear);
    `fold`: BatchNorm folded into the convs (see the module's docstring)."""
    enc, head = model.encoder, model.classifier
    pool = enc.maxpool
    if (pool.kernel_size, pool.stride, pool.padding) not in ((3, 2, 1), ((3, 3), (2, 2), (1, 1))):
        raise ValueError("expected ResNet's 3x3/2 max-pool with padding 1")
    g = Graph()
    x = g.add(
        "InputLayer",
        INPUT_LAYER,
        {"batch_input_shape": [None, input_size, input_size, channels], "dtype": "float32", "sparse": False},
        [],
    )
    x = _conv_bn(g, "stem_conv", "stem_bn", enc.conv1, enc.bn1, x, relu="stem_relu", fold=fold)
    x = g.add("ZeroPadding2D", "stem_pool_pad", {"padding": [[1, 1], [1, 1]], "data_format": "channels_last"}, [x])
    x = g.add(
        "MaxPooling2D",
        "stem_pool",
        {"pool_size": [3, 3], "strides": [2, 2], "padding": "valid", "data_format": "channels_last"},
        [x],
    )
    for li in range(1, 5):
        for bi, block in enumerate(getattr(enc, f"layer{li}")):
            x = _basic_block(g, f"layer{li}_{bi}", block, x, fold)
    x = g.add("GlobalAveragePooling2D", "avgpool", {"data_format": "channels_last"}, [x])
    x = g.add(
        "Dense",
        LOGITS_LAYER,
        {
            "units": head.out_features,
            "activation": "linear",
            "use_bias": head.bias is not None,
            "kernel_initializer": ZEROS,
            "bias_initializer": ZEROS,
        },
        [x],
    )
    g.add_weight(f"{LOGITS_LAYER}/kernel", _np(head.weight).T)  # (out, in) -> (in, out)
    if head.bias is not None:
        g.add_weight(f"{LOGITS_LAYER}/bias", _np(head.bias))
    g.add("Activation", OUTPUT_LAYER, {"activation": "softmax"}, [x])
    return g


def topology(g: Graph, name: str = "ssclnet_classifier") -> dict[str, Any]:
    return {
        "class_name": "Model",
        "config": {
            "name": name,
            "layers": g.layers,
            "input_layers": [[INPUT_LAYER, 0, 0]],
            "output_layers": [[OUTPUT_LAYER, 0, 0]],
        },
        "keras_version": "2.15.0",
        "backend": "tensorflow",
    }


# uint8 weights: tfjs's affine quantization (value = q * scale + min, per tensor) for the large tensors only, the
# 3x3 convolutions of layers 2-4 and the last 1x1 shortcut (98 % of ResNet-18's weights); the small ones (stem,
# layer 1, BatchNorm, the classifier) stay float16. Quantizing every tensor cost 0.4 points of dev test accuracy;
# this split cost none (docs/results.md).
UINT8_MIN_ELEMENTS = 65536
DTYPES = ("float32", "float16", "uint8")


def uint8_quantize(value: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(q uint8, min, scale) with value ~= q * scale + min, as tfjs dequantizes."""
    lo, hi = float(value.min(initial=0.0)), float(value.max(initial=0.0))
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    q = np.clip(np.round((value.astype(np.float64) - lo) / scale), 0, 255).astype(np.uint8)
    return q, lo, scale


def uint8_dequantize(q: np.ndarray, lo: float, scale: float) -> np.ndarray:
    return (q.astype(np.float32) * np.float32(scale) + np.float32(lo)).astype(np.float32)


def encode_weights(g: Graph, dtype: str) -> tuple[bytes, list[dict[str, Any]]]:
    """Little-endian weight bytes in manifest order and their manifest entries (float16 and uint8 as tfjs
    quantization; uint8 for tensors of >= UINT8_MIN_ELEMENTS values, float16 for the others)."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype}")
    chunks, specs = [], []
    for name, value in g.weights:
        spec: dict[str, Any] = {"name": name, "shape": list(value.shape), "dtype": "float32"}
        if dtype == "uint8" and value.size >= UINT8_MIN_ELEMENTS:
            q, lo, scale = uint8_quantize(value)
            chunks.append(q.tobytes())
            spec["quantization"] = {"dtype": "uint8", "min": lo, "scale": scale, "original_dtype": "float32"}
        elif dtype in ("float16", "uint8"):
            if np.abs(value).max(initial=0.0) > 65504:
                raise ValueError(f"weight {name} overflows float16; export as float32")
            chunks.append(value.astype("<f2").tobytes())
            spec["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
        else:
            chunks.append(value.astype("<f4").tobytes())
        specs.append(spec)
    return b"".join(chunks), specs


def fake_quantize_uint8_(model) -> int:
    """Rounds, in place, every weight of `model` that `encode_weights(..., "uint8")` stores as uint8 (the same
    per-tensor rule; a transposition does not change a tensor's min, max or rounding), so the parity vectors
    computed from it are what the uint8 artifact must reproduce. Returns how many tensors were rounded."""
    import torch

    n = 0
    with torch.no_grad():
        for p in model.parameters():
            if p.numel() >= UINT8_MIN_ELEMENTS:
                q, lo, scale = uint8_quantize(p.detach().cpu().numpy())
                p.copy_(torch.from_numpy(uint8_dequantize(q, lo, scale)).to(p.dtype))
                n += 1
    return n
