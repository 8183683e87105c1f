"""The synthetic-handwriting side stage on Ray: planned rows (driver) -> generator actor pool -> Parquet.

It shares the page pipeline's pool sizing, so it runs beside a digitize job without starving it.
The generator runs in a worker process its actor replaces (pipeline.run.isolation): a line that
crashes, hangs or bloats it is left out and counted, and the rest are written.
"""

from __future__ import annotations

from functools import partial

import pyarrow as pa
import ray

from connectors.filesystem import filesystem
from pipeline.handwriting.generate import GenerateConfig, GenerateLines
from pipeline.run.devices import actor_cpu_threads, actor_device, build_pinned
from pipeline.run.isolation import IsolatedStage, IsolationPolicy, default_memory_limit
from pipeline.run.ray_job import TASK_CPUS, size_pool
from schemas.synthetic import SYNTHETIC_SCHEMA

LINE_TIMEOUT_S = {"cpu": 300.0, "gpu": 60.0}  # one line's share of a batch's sampling


class GenerateLinesActor:
    def __init__(self, config: GenerateConfig, model_dir: str) -> None:
        device = actor_device()
        policy = IsolationPolicy(page_timeout=LINE_TIMEOUT_S["cpu" if device == "cpu" else "gpu"], max_page_retries=1,
                                 memory_limit=default_memory_limit())
        self.stage = IsolatedStage(partial(build_pinned, device, actor_cpu_threads(), partial(GenerateLines, config, model_dir)), policy,
                                   failed_row=lambda row, failure: None)

    def __call__(self, batch: pa.Table) -> pa.Table:
        return pa.Table.from_pylist(self.stage(batch.to_pylist()), schema=SYNTHETIC_SCHEMA)


def run_generate(config: GenerateConfig, rows: list[dict], model_dir: str) -> int:
    """Generate the planned lines in an actor pool (one per GPU, fp16 there; else the CPUs)
    and write SYNTHETIC_SCHEMA Parquet shards into config.output; returns the lines written."""
    # on CPUs one actor using the node's cores: a diffusion step is one big batched call
    plan = size_pool(True, config.gpu, config.workers, 1, max_cpu_share=float("inf"))
    # equal-width lines batch together: order by style and length, the index column keeps the plan order
    rows = sorted(rows, key=lambda r: (r["style_id"], len(r["text"])))
    fs, path = filesystem(config.output)
    ds = ray.data.from_items(rows, override_num_blocks=max(1, min(len(rows) // config.batch_size + 1, 512)))
    ds = ds.map_batches(
        GenerateLinesActor,
        fn_constructor_kwargs={"config": config, "model_dir": model_dir},
        batch_size=config.batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=plan.workers),
        num_cpus=plan.num_cpus,
        num_gpus=plan.num_gpus or None,
        # the job caps OpenMP at one thread for Tesseract; a UNet actor uses the cores it claims
        runtime_env={"env_vars": {"OMP_THREAD_LIMIT": str(max(1, round(plan.num_cpus)))}},
    )
    ds.write_parquet(path, filesystem=fs, compression="zstd", min_rows_per_file=config.rows_per_file,
                     ray_remote_args={"num_cpus": TASK_CPUS})
    import pyarrow.dataset as pads

    return pads.dataset(path, format="parquet", filesystem=fs).count_rows()
