"""Pretraining speed: image pairs per second of the real training step (SimCLRStep: fetch from the in-memory
tensor, two augmented views, forward, NT-Xent, backward, Adam), peak memory, and data vs compute time.

Two timed loops after warm-up:
  * throughput: `steps` steps back to back, one synchronisation at the end (what training achieves);
  * split: the same steps with a device synchronisation between the data part (batch gather + host->device
    copy + augmentations) and the compute part (forward/backward/optimiser), so each is measured alone.
"""

from __future__ import annotations

import resource
import time

import torch

from .data import load_dataset
from .preprocess import PreprocessSpec
from .pretraining import PretrainConfig, SimCLRStep, build
from .runtime import seed_everything, setup_runtime, teardown_runtime
from .training import BatchSource

PROTOCOL_PRETRAIN_IMAGES = 5245  # unlabeled + train + val of the dev protocol (data README)


def _sync(rt) -> None:
    if rt.cuda:
        torch.cuda.synchronize(rt.device)


def run_benchmark(
    *,
    batch_size: int = 256,
    image_size: int = 224,
    steps: int = 20,
    warmup: int = 5,
    data: str | None = None,
    split: str | None = None,
    device: str = "auto",
    amp: bool = True,
    channels_last: bool = True,
    compile: bool = False,
    workers: int = 0,
    epoch_images: int = PROTOCOL_PRETRAIN_IMAGES,
    seed: int = 0,
) -> dict:
    rt = setup_runtime(device)
    try:
        seed_everything(seed)
        spec = PreprocessSpec(input_size=image_size)
        if data:
            images = load_dataset(data, split, spec, workers=workers).images
            source_name = f"{data} ({len(images)} slices)"
        else:
            # Synthetic images in the preprocessed range: the step's cost doesn't depend on pixel content.
            images = (torch.rand(max(4 * batch_size, 64), 1, image_size, image_size) * 2 - 1).half()
            source_name = "synthetic"
        batch = min(batch_size, len(images))
        cfg = PretrainConfig(
            data="-",
            batch_size=batch,
            image_size=image_size,
            device=device,
            amp=amp,
            channels_last=channels_last,
            compile=compile,
            seed=seed,
            epochs=100,
            tensorboard=False,
        )
        model, optimizer, scheduler, generator, _ = build(cfg, rt, steps_per_epoch=max(1, epoch_images // batch))
        step = SimCLRStep(model, optimizer, scheduler, rt, spec, cfg, generator)
        source = BatchSource(images, rt)
        gen = torch.Generator().manual_seed(seed)

        def next_idx() -> torch.Tensor:
            return torch.randperm(len(images), generator=gen)[:batch]

        model.train()
        t_warm = time.perf_counter()
        for _ in range(warmup):
            step.update(step.views(source.get(next_idx())))
        _sync(rt)
        warmup_s = time.perf_counter() - t_warm
        if rt.cuda:
            torch.cuda.reset_peak_memory_stats(rt.device)

        t0 = time.perf_counter()
        for _ in range(steps):
            loss = step.update(step.views(source.get(next_idx())))
        float(loss)
        _sync(rt)
        total = time.perf_counter() - t0

        data_s = compute_s = 0.0
        for _ in range(steps):
            a = time.perf_counter()
            v = step.views(source.get(next_idx()))
            _sync(rt)
            b = time.perf_counter()
            step.update(v)
            _sync(rt)
            data_s += b - a
            compute_s += time.perf_counter() - b

        pairs_s = steps * batch * rt.world_size / total
        result = {
            "device": torch.cuda.get_device_name(rt.device) if rt.cuda else f"cpu ({torch.get_num_threads()} threads)",
            "processes": rt.world_size,
            "batch_size": batch,
            "image_size": image_size,
            "steps": steps,
            "data": source_name,
            "images_on_device": source.on_device,
            "amp_bf16": amp and rt.cuda,
            "channels_last": channels_last,
            "compile": compile,
            "warmup_s": warmup_s,
            "step_s": total / steps,
            "pairs_per_s": pairs_s,
            "images_per_s": 2 * pairs_s,
            "data_fraction": data_s / max(1e-12, data_s + compute_s),
            "data_ms_per_step": 1e3 * data_s / steps,
            "compute_ms_per_step": 1e3 * compute_s / steps,
            "epoch_images": epoch_images,
            "est_epoch_s": epoch_images / pairs_s,
            "est_100_epochs_h": 100 * epoch_images / pairs_s / 3600,
        }
        if rt.cuda:
            result["peak_gpu_memory_gib"] = torch.cuda.max_memory_allocated(rt.device) / 2**30
        result["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        return result
    finally:
        teardown_runtime(rt)


def format_result(r: dict) -> str:
    mem = (
        f"peak GPU memory {r['peak_gpu_memory_gib']:.2f} GiB, " if "peak_gpu_memory_gib" in r else ""
    ) + f"peak RSS {r['peak_rss_gib']:.2f} GiB"
    return "\n".join(
        [
            f"device            {r['device']} x {r['processes']} process(es); data {r['data']}",
            f"setup             batch {r['batch_size']} pairs/process, {r['image_size']}², bf16 {r['amp_bf16']}, "
            f"channels_last {r['channels_last']}, compile {r['compile']}, {r['steps']} timed steps",
            f"throughput        {r['pairs_per_s']:.1f} image pairs/s ({r['images_per_s']:.1f} images/s), "
            f"{1e3 * r['step_s']:.1f} ms/step",
            f"time split        data {100 * r['data_fraction']:.1f} % ({r['data_ms_per_step']:.1f} ms/step: gather, "
            f"copy, augment) / compute {100 * (1 - r['data_fraction']):.1f} % ({r['compute_ms_per_step']:.1f} ms/step)",
            f"memory            {mem}",
            f"100-epoch run     ~{r['est_100_epochs_h']:.2f} h for {r['epoch_images']} images/epoch "
            f"({r['est_epoch_s']:.1f} s/epoch, training steps only)",
        ]
    )
