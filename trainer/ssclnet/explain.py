"""Where the model looked: class-activation heatmaps for the classifier, and the checks that they mean something.

Method: Grad-CAM (Selvaraju et al. 2017) on the output of a ResNet stage (the ReLU after its last block: tfjs layer
`layer{L}_1_out`). For the class c (default: the predicted one) with logit y_c and the stage's activation A (K maps):

    alpha_k = mean_{i,j} d y_c / d A_k[i,j]          cam = ReLU(sum_k alpha_k A_k)

Grad-CAM++ (Chattopadhyay et al. 2018; the closed form with exp(y_c), as in most implementations) is available for
comparison: alpha_k = sum_ij a_kij ReLU(g_kij) with a_kij = g^2 / (2 g^2 + sum_ab A_kab g^3).

The map is upsampled to the input size bilinearly with half-pixel centres (PyTorch `align_corners=False`, tfjs
`resizeBilinear(..., halfPixelCenters=true)`) and min-max normalised to 0..1 per image; a map with no positive
evidence (max == min) is all zeros. TypeScript does exactly this in extension/src/inference/gradcam.ts, and the
parity fixture tests/fixtures/gradcam/ holds the two together.

Default target: `layer3` (8x8 at 128^2 input). `layer4` gives 4x4 there. The choice is made on the faithfulness
figures (docs/results.md, "Where the model looks"): `python tools/explain/gradcam_figures.py`.

Faithfulness (Adebayo et al. 2018, "Sanity checks for saliency maps"):
  - `randomised_copy`: cascading randomisation of the top layers (head, then layer4, layer3, ...), and
    `spearman` between the trained and the randomised heatmaps;
  - `deletion`: the predicted-class probability after masking the top-q heatmap pixels vs random q pixels.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

LAYERS = ("layer1", "layer2", "layer3", "layer4")
METHODS = ("gradcam", "gradcam++")
DEFAULT_LAYER = "layer3"
DEFAULT_METHOD = "gradcam"
# Cascading randomisation order (Adebayo et al.): from the output down, block by block.
CASCADE = (
    "classifier",
    "layer4.1",
    "layer4.0",
    "layer3.1",
    "layer3.0",
    "layer2.1",
    "layer2.0",
    "layer1.1",
    "layer1.0",
    "stem",
)


def tfjs_layer(layer: str) -> str:
    """The tfjs layer name of a ResNet stage's output (the ReLU after its last block)."""
    if layer not in LAYERS:
        raise ValueError(f"target layer must be one of {', '.join(LAYERS)}, got {layer!r}")
    return f"{layer}_1_out"


@dataclass
class CamResult:
    heatmaps: np.ndarray  # (N, S, S) float32 in 0..1, at input resolution
    raw: np.ndarray  # (N, h, w) float32: ReLU(sum_k alpha_k A_k) before upsampling and normalisation
    logits: np.ndarray  # (N, K) float64
    probabilities: np.ndarray  # (N, K) float64, softmax(logits)
    class_index: np.ndarray  # (N,) int: the class explained


def upsample_normalise(raw: torch.Tensor, size: int) -> torch.Tensor:
    """(N, h, w) -> (N, size, size): bilinear (half-pixel centres), then min-max to 0..1 per map (zeros if flat)."""
    up = F.interpolate(raw[:, None].float(), size=(size, size), mode="bilinear", align_corners=False)[:, 0]
    flat = up.reshape(up.shape[0], -1)
    lo, hi = flat.min(1).values, flat.max(1).values
    span = hi - lo
    ok = span > 1e-12 * torch.clamp(hi.abs(), min=1e-30)
    out = (up - lo[:, None, None]) / torch.where(ok, span, torch.ones_like(span))[:, None, None]
    return torch.where(ok[:, None, None], out, torch.zeros_like(out))


def cam(
    model: nn.Module,
    x: torch.Tensor,
    *,
    layer: str = DEFAULT_LAYER,
    method: str = DEFAULT_METHOD,
    class_index: int | Sequence[int] | None = None,
) -> CamResult:
    """Grad-CAM (or Grad-CAM++) of `model` (a `Classifier`, eval mode) for NCHW inputs `x`."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    tfjs_layer(layer)
    model.eval()
    store: dict[str, torch.Tensor] = {}
    handle = getattr(model.encoder, layer).register_forward_hook(lambda _m, _i, out: store.__setitem__("a", out))
    try:
        with torch.enable_grad():
            x = x.detach().float().requires_grad_(True)  # so that A needs a gradient even with frozen weights
            logits = model(x)
            a = store["a"]
            n = logits.shape[0]
            if class_index is None:
                cls = logits.argmax(1)
            else:
                ci = [class_index] * n if isinstance(class_index, int) else list(class_index)
                cls = torch.as_tensor(ci, dtype=torch.long)
            score = logits.gather(1, cls[:, None]).sum()
            (g,) = torch.autograd.grad(score, a)
    finally:
        handle.remove()
    a, g = a.detach(), g.detach()
    if method == "gradcam":
        weights = g.mean((2, 3))
    else:
        g2, g3 = g * g, g * g * g
        denom = 2 * g2 + a.sum((2, 3), keepdim=True) * g3
        alpha = g2 / torch.where(denom != 0, denom, torch.ones_like(denom))
        weights = (alpha * F.relu(g)).sum((2, 3))
    raw = F.relu((weights[:, :, None, None] * a).sum(1))
    heat = upsample_normalise(raw, x.shape[-1])
    lg = logits.detach().double()
    return CamResult(
        heat.numpy().astype(np.float32),
        raw.numpy().astype(np.float32),
        lg.numpy(),
        torch.softmax(lg, 1).numpy(),
        cls.numpy().astype(np.int64),
    )


# ---- loading -------------------------------------------------------------------------------------------------------


def resolve_model_dir(path: str | Path) -> Path:
    """A model folder (model-card.json) as is; a registry folder (models.json) -> its `latest` version."""
    p = Path(path)
    if (p / "model-card.json").is_file():
        return p
    index = p / "models.json"
    if index.is_file():
        latest = json.loads(index.read_text()).get("latest")
        if not latest:
            raise ValueError(f"{index}: no latest version")
        entry = next((v for v in json.loads(index.read_text()).get("versions", []) if v.get("version") == latest), {})
        return p / str(entry.get("path") or latest)
    raise ValueError(f"{p}: neither a model folder (model-card.json) nor a registry (models.json)")


def load_model(checkpoint: str | Path | None = None, model_dir: str | Path | None = None):
    """(Classifier in eval mode, classes, PreprocessSpec, description) from a fine-tune checkpoint or an exported
    tfjs artifact (imported back with `ssclnet.import_tfjs`, hashes verified; float16 weights come back exactly)."""
    from .model import Classifier
    from .preprocess import PreprocessSpec

    if (checkpoint is None) == (model_dir is None):
        raise ValueError("give exactly one of a checkpoint or a model folder")
    if checkpoint is not None:
        from .evaluation import load_classifier

        model, classes, spec, _ = load_classifier(checkpoint)
        desc = str(checkpoint)
    else:
        from .import_tfjs import import_artifact

        d = resolve_model_dir(model_dir)
        ckpt = import_artifact(d)
        spec = PreprocessSpec.from_dict(ckpt["preprocess"])
        classes = list(ckpt["classes"])
        model = Classifier(len(classes), in_channels=spec.channels)
        model.load_state_dict(ckpt["model"])
        desc = f"{d} ({ckpt['imported_from']['version']}, {ckpt['imported_from']['dtype']})"
    model.eval()
    return model, classes, spec, desc


def parity_inputs(model_dir: str | Path) -> tuple[np.ndarray, list[str]]:
    """The artifact's parity inputs as NCHW float32, and their source names."""
    d = resolve_model_dir(model_dir)
    exp = json.loads((d / "parity" / "expected.json").read_text())
    n, s, _, c = exp["input_shape"]
    x = np.frombuffer((d / "parity" / "inputs.bin").read_bytes(), "<f4").reshape(n, s, s, c)
    return x.transpose(0, 3, 1, 2).copy(), list(exp.get("sources") or [f"input-{i}" for i in range(n)])


# ---- faithfulness --------------------------------------------------------------------------------------------------


def _modules(model: nn.Module, name: str) -> list[nn.Module]:
    if name == "classifier":
        return [model.classifier]
    if name == "stem":
        return [model.encoder.conv1, model.encoder.bn1]
    stage, block = name.split(".")
    return [getattr(model.encoder, stage)[int(block)]]


def randomised_copy(model: nn.Module, depth: int, seed: int = 0) -> nn.Module:
    """A copy of `model` with the top `depth` entries of CASCADE re-initialised (cascading randomisation,
    Adebayo et al. 2018): conv/linear weights from PyTorch's default initialisation, BatchNorm back to identity
    (gamma 1, beta 0, running mean 0, variance 1)."""
    m = copy.deepcopy(model)
    gen = torch.random.fork_rng(devices=[])
    with gen:
        torch.manual_seed(seed)
        for name in CASCADE[:depth]:
            for mod in _modules(m, name):
                for sub in mod.modules():
                    if isinstance(sub, (nn.Conv2d, nn.Linear, nn.BatchNorm2d)):
                        sub.reset_parameters()
    m.eval()
    return m


def _ranks(v: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(v, method="average")


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps (ties get average ranks); 0 when one is constant."""
    ra, rb = _ranks(np.ravel(a)), _ranks(np.ravel(b))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / den) if den > 0 else 0.0


def blurred(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of NCHW inputs (separable, reflect padding)."""
    r = max(1, int(round(3 * sigma)))
    t = torch.arange(-r, r + 1, dtype=x.dtype)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = (k / k.sum()).repeat(x.shape[1], 1, 1, 1)
    y = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k.view(x.shape[1], 1, 1, -1), groups=x.shape[1])
    return F.conv2d(F.pad(y, (0, 0, r, r), mode="reflect"), k.view(x.shape[1], 1, -1, 1), groups=x.shape[1])


FILLS = ("blur", "mean")
BASELINES = ("regions", "pixels")
BLUR_SIGMA = 8.0  # input pixels at 128^2 (1/16 of the side): removes a lesion's detail, keeps the brain's layout


def masked(x: torch.Tensor, masks: torch.Tensor, fill: str = "blur") -> torch.Tensor:
    """Inputs with the True pixels of (N, S, S) `masks` replaced: by a strongly blurred copy of the image
    ("blur", sigma `BLUR_SIGMA` x S/128) or by each image's mean ("mean")."""
    if fill == "mean":
        f = x.mean((1, 2, 3), keepdim=True).expand_as(x)
    elif fill == "blur":
        f = blurred(x, BLUR_SIGMA * x.shape[-1] / 128)
    else:
        raise ValueError(f"fill must be one of {FILLS}")
    return torch.where(masks[:, None], f, x)


def top_mask(heat: np.ndarray, fraction: float) -> np.ndarray:
    """(N, S, S) bool: the top `fraction` pixels of each heatmap (ties broken by a fixed random order)."""
    n = heat.shape[0]
    flat = heat.reshape(n, -1)
    k = int(round(fraction * flat.shape[1]))
    tie = np.random.default_rng(0).random(flat.shape[1]) * 1e-9
    idx = np.argsort(-(flat + tie), axis=1)[:, :k]
    m = np.zeros_like(flat, dtype=bool)
    np.put_along_axis(m, idx, True, axis=1)
    return m.reshape(heat.shape)


def random_mask(
    shape: tuple[int, ...], fraction: float, rng: np.random.Generator, baseline: str = "regions", grid: int = 8
) -> np.ndarray:
    """(N, S, S) bool masks of `fraction` of the pixels: "pixels" = scattered single pixels; "regions" = the top
    pixels of a random map at the heatmap's own resolution (`grid` x `grid`, upsampled the same way), i.e. random
    blobs of the size the heatmap's top pixels form."""
    n, h, w = shape
    if baseline == "regions":
        raw = torch.from_numpy(rng.random((n, grid, grid)))
        return top_mask(upsample_normalise(raw, h).numpy(), fraction)
    if baseline != "pixels":
        raise ValueError(f"baseline must be one of {BASELINES}")
    k = int(round(fraction * h * w))
    m = np.zeros((n, h * w), dtype=bool)
    for i in range(n):
        m[i, rng.choice(h * w, k, replace=False)] = True
    return m.reshape(shape)


@torch.no_grad()
def class_probability(model: nn.Module, x: torch.Tensor, cls: np.ndarray, with_logit: bool = False):
    """The probability of class cls[i] for input i (and its logit, with `with_logit`)."""
    lg = model(x).double()
    p = torch.softmax(lg, 1).numpy()[np.arange(len(cls)), cls]
    return (p, lg.numpy()[np.arange(len(cls)), cls]) if with_logit else p


def deletion(
    model: nn.Module,
    x: torch.Tensor,
    res: CamResult,
    fraction: float = 0.1,
    repeats: int = 3,
    seed: int = 0,
    fill: str = "blur",
    baseline: str = "regions",
) -> dict[str, np.ndarray]:
    """Predicted-class probability (and logit) drops after masking the top `fraction` heatmap pixels and after
    masking `fraction` random pixels (mean over `repeats` random masks), per image."""
    cls = res.class_index
    idx = np.arange(len(cls))
    p0, l0 = res.probabilities[idx, cls], res.logits[idx, cls]
    p_top, l_top = class_probability(
        model, masked(x, torch.from_numpy(top_mask(res.heatmaps, fraction)), fill), cls, True
    )
    rng = np.random.default_rng(seed)
    grid = res.raw.shape[-1]
    rand = [
        class_probability(
            model,
            masked(x, torch.from_numpy(random_mask(res.heatmaps.shape, fraction, rng, baseline, grid)), fill),
            cls,
            True,
        )
        for _ in range(repeats)
    ]
    p_rand, l_rand = np.mean([r[0] for r in rand], axis=0), np.mean([r[1] for r in rand], axis=0)
    return {
        "p": p0,
        "drop_top": p0 - p_top,
        "drop_random": p0 - p_rand,
        "logit_drop_top": l0 - l_top,
        "logit_drop_random": l0 - l_rand,
    }


def faithfulness(
    model: nn.Module,
    x: torch.Tensor,
    *,
    layer: str = DEFAULT_LAYER,
    method: str = DEFAULT_METHOD,
    depth: int | None = None,
    fraction: float = 0.1,
    seed: int = 0,
    fill: str = "blur",
    baseline: str = "regions",
) -> dict[str, Any]:
    """Both checks on the inputs x (NCHW): per-image Spearman of trained vs randomised heatmaps (cascading
    randomisation down to and including the target stage unless `depth` is given; each model explains its own
    predicted class), and the deletion drops."""
    res = cam(model, x, layer=layer, method=method)
    if depth is None:
        depth = 1 + CASCADE.index(f"{layer}.0")  # the head and every block from the top down to the target stage
    rnd = randomised_copy(model, depth, seed)
    res_r = cam(rnd, x, layer=layer, method=method)
    rho = np.array([spearman(a, b) for a, b in zip(res.heatmaps, res_r.heatmaps)])
    d = deletion(model, x, res, fraction, seed=seed, fill=fill, baseline=baseline)
    return {
        "layer": layer,
        "method": method,
        "randomised": list(CASCADE[:depth]),
        "spearman": rho,
        **d,
        "class_index": res.class_index,
        "result": res,
    }


# ---- dev test images -----------------------------------------------------------------------------------------------


def sample_records(manifest: str | Path, split: str, classes: Sequence[str], per_class: int, seed: int = 0):
    """`per_class` rows of each class from a split of a manifest (seeded, manifest order kept)."""
    from .data import list_records

    recs = list_records(manifest, [split])
    rng = np.random.default_rng(seed)
    out = []
    for c in classes:
        rows = [r for r in recs if r.label == c]
        pick = sorted(rng.choice(len(rows), min(per_class, len(rows)), replace=False))
        out += [rows[i] for i in pick]
    return out


def load_inputs(paths: Sequence[str | Path], spec) -> np.ndarray:
    """Files -> preprocessed NCHW float32 (the first slice of each file)."""
    from .imageio import read_slices

    return np.stack([read_slices(p)[0].to_input(spec) for p in paths]).astype(np.float32)


# ---- pictures ------------------------------------------------------------------------------------------------------


def overlay_rgb(image: np.ndarray, heat: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """(S, S) preprocessed slice + (S, S) heatmap -> (S, S, 3) float RGB: grey image under a 'jet' colour map."""
    import matplotlib

    lo, hi = np.percentile(image, [0.5, 99.5])
    g = np.clip((image - lo) / max(hi - lo, 1e-6), 0, 1)
    rgb = matplotlib.colormaps["jet"](heat)[..., :3]
    return (1 - alpha) * np.repeat(g[..., None], 3, -1) + alpha * rgb


def save_overlay(path: str | Path, image: np.ndarray, heat: np.ndarray, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(5, 2.7))
    lo, hi = np.percentile(image, [0.5, 99.5])
    axes[0].imshow(image, cmap="gray", vmin=lo, vmax=hi)
    axes[1].imshow(overlay_rgb(image, heat))
    for ax in axes:
        ax.axis("off")
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
