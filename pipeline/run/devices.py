"""Which device an actor's model runs on: the GPU Ray assigned it, else the CPU."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


# In a worker child process (pipeline.run.isolation) Ray is not there to ask: the actor pins
# what Ray assigned it before the child loads its engine.
_PINNED: dict[str, object] = {}


def pin(device: str, cpu_threads: int | None) -> None:
    _PINNED.update(device=device, cpu_threads=cpu_threads)


def build_pinned(device: str, cpu_threads: int | None, build: Callable[[], T]) -> T:
    """In a worker child process: pin what Ray gave the actor, then build its stage."""
    pin(device, cpu_threads)
    return build()


def actor_device() -> str:
    """"cuda" when Ray gave this actor a GPU (it sets CUDA_VISIBLE_DEVICES), else "cpu"."""
    if "device" in _PINNED:
        return str(_PINNED["device"])
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


def actor_cpu_threads() -> int | None:
    """Threads a CPU model should use in this actor: the whole CPUs Ray assigned it (at least
    one), so two actors on a 2-core node do not each start two threads; None outside Ray."""
    if "cpu_threads" in _PINNED:
        return _PINNED["cpu_threads"]  # type: ignore[return-value]
    try:
        import ray

        if not ray.is_initialized():
            return None
        assigned = ray.get_runtime_context().get_assigned_resources().get("CPU")
    except Exception:
        return None
    return max(1, round(assigned)) if assigned is not None else None


def thread_limit() -> int:
    """The threads one reader may use: OMP_THREAD_LIMIT, which the jobs set to an actor's CPUs
    (1 where unset: Ray runs an actor per core)."""
    import os

    limit = os.environ.get("OMP_THREAD_LIMIT", "")
    return max(1, int(limit)) if limit.isdigit() else 1


def set_torch_threads(threads: int | None = None) -> None:
    """Give torch `threads` (default: its own choice), never more than OMP_THREAD_LIMIT.

    The jobs cap OpenMP at one thread for Tesseract; torch left at two threads under that cap
    runs backward passes orders of magnitude slower (its workers spin waiting for each other).
    """
    import os

    import torch

    wanted = threads or torch.get_num_threads()
    limit = os.environ.get("OMP_THREAD_LIMIT")
    if limit and limit.isdigit():
        wanted = min(wanted, int(limit))
    torch.set_num_threads(max(1, wanted))
