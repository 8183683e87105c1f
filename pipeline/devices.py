"""Which device an actor's model runs on: the GPU Ray assigned it, else the CPU."""

from __future__ import annotations

import importlib.util


def actor_device() -> str:
    """"cuda" when Ray gave this actor a GPU (it sets CUDA_VISIBLE_DEVICES), else "cpu"."""
    try:
        import ray

        gpu_ids = ray.get_gpu_ids() if ray.is_initialized() else []
    except Exception:
        gpu_ids = []
    if gpu_ids and importlib.util.find_spec("torch") is not None:
        import torch

        if torch.cuda.is_available():
            return "cuda:0"
    return "cpu"


def cluster_gpus() -> int:
    import ray

    return int(ray.cluster_resources().get("GPU", 0)) if ray.is_initialized() else 0
