"""All the page pipeline's Ray wiring in one place: read, map_batches, actor pool, resources, write_parquet.

discover (driver) -> split (tasks) -> route and render (actors) -> recognize and score (actor pool) -> Parquet.
On CPU actors routing and rendering run inside the recognize actor (see RenderAndRecognizeActor).
Pages stream through; no stage holds more than a batch of page images.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import ray

from connectors import SourceFile
from connectors.filesystem import filesystem, join
from pipeline.run.config import DigitizeConfig
from pipeline.run.devices import cluster_gpus
from pipeline.engines import engine_class
from pipeline.run.split import split_documents
from pipeline.run.actors import RecognizeActor, RenderAndRecognizeActor, RouteActor
from pipeline.run.resume import completed_pages

log = logging.getLogger("digitize")

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Once a node has more worker processes than CPUs (on a small node: always, the actors count),
# Ray kills a worker one second after it falls idle, and the Parquet write after the last page
# waits for a fresh worker to boot. Kept idle for a minute, the write starts at once. A cluster
# started with `ray start` takes the same setting from RAY_idle_worker_killing_time_threshold_ms
# (ray_cluster.yaml sets it).
LOCAL_SYSTEM_CONFIG = {"idle_worker_killing_time_threshold_ms": 60_000}
LOCAL_HOST = "127.0.0.1"

# Rendered pages are several MB each; blocks this small carry one or two of them, so the pages
# of one long PDF spread over every actor (an actor takes whole blocks) and few are in flight.
BLOCK_BYTES = 16 * 2**20
# Rendering outruns recognition; without a cap Ray Data queues rendered pages up to a share of
# the whole object store, so peak memory would grow with the corpus. Pages in flight per actor:
PAGES_IN_FLIGHT_PER_WORKER = 6
TASK_CPUS = 0.2  # split and route tasks: light, and must never be starved by the actors
# Ray retries a dead actor's task without end by default. Pages die in the actors' worker
# processes (pipeline.run.isolation), not in the actors; an actor that dies anyway (its node
# lost, a bug) has its task tried this many more times, then the run stops with the reason,
# instead of looping. Resume with the same run id.
ACTOR_TASK_RETRIES = 3  # also the split tasks' retries


# Page references per block on the render-in-actor path: few, so one long PDF spreads over
# every actor (an actor takes whole blocks, so the tail is at most one block); not one, since
# each block costs an actor task, more than reading a good text layer.
REFS_PER_BLOCK = 4


@dataclass(frozen=True)
class PoolPlan:
    workers: int
    num_cpus: float
    num_gpus: float
    # CPU actors render their own pages (RenderAndRecognizeActor); GPU actors get them from CPU
    # route actors, so rendering overlaps the device's work.
    render_in_actor: bool = True
    route_workers: int = 1  # route actors of the GPU layout, at most


def size_pool(gpu_engine: bool, gpu: str, workers: int | None, cpu_workers: int | None,
              max_cpu_share: float) -> PoolPlan:
    """Size an actor pool from what the cluster has.

    A GPU engine with GPUs up (or `gpu="always"`, so an autoscaling cluster whose GPU nodes are
    at zero starts them): one actor per GPU. Otherwise `cpu_workers` actors (None: one per CPU),
    each claiming at most `max_cpu_share` CPUs and leaving room for the light read and write
    tasks (actors that claim every CPU of a 2-CPU node starve those tasks and hang the job).
    """
    gpus = cluster_gpus()
    if gpu_engine and (gpu == "always" or (gpu == "auto" and gpus > 0)):
        cpus = int(ray.cluster_resources().get("CPU", 1))
        return PoolPlan(workers=workers or max(1, gpus), num_cpus=1.0, num_gpus=1.0, render_in_actor=False,
                        route_workers=max(1, cpus // 2))
    cpus = max(1.0, float(ray.cluster_resources().get("CPU", 1)))
    workers = workers or cpu_workers or max(1, int(cpus))
    share = min(max_cpu_share, (cpus - 2 * TASK_CPUS) / workers)
    return PoolPlan(workers=workers, num_cpus=max(0.1, round(share, 2)), num_gpus=0.0)


def plan_pool(config: DigitizeConfig) -> PoolPlan:
    """The recognizer pool: one actor per GPU for GPU engines, else one per CPU (one core each)."""
    engine = engine_class(config.engine.name)
    return size_pool(engine.uses_gpu(config.engine), config.gpu, config.workers, None, max_cpu_share=1.0)


def pages_dir(config: DigitizeConfig) -> str:
    """OUT/pages/run_id=RUN, as a local path or an s3:// URI."""
    return join(config.output, "pages", f"run_id={config.run_id}")


def _split_blocks(ds: ray.data.Dataset, rows: int) -> ray.data.Dataset:
    """Streaming repartition into blocks of at most `rows` rows, run inside the split tasks.

    Ray 2.60 gives the repartition operator no remote args, so it asks for a whole CPU: next to
    the actors on a small node that CPU never comes free and the job hangs. With the split
    tasks' CPU share it fuses into them instead (no extra task at all).
    """
    ds = ds.repartition(target_num_rows_per_block=rows)
    ds._logical_plan.dag.ray_remote_args["num_cpus"] = TASK_CPUS
    return ds


# Ray Data warnings no user of this job can act on:
# - Ray 2.60 warns at every run that `ray_remote_args` go in Ray 2.64, yet names no parameter for
#   the retry bounds in _build_dataset (ray-project/ray#65227). Moving past Ray 2.60 means moving
#   the retries with it.
# - a run with fewer blocks of pages than actors (one short document) is told to set
#   `override_num_blocks`: the pool is sized before the split tasks count the pages.
UNACTIONABLE_RAY_WARNINGS = ("`ray_remote_args` is deprecated", "The minimum number of concurrent actors")


@contextmanager
def _without_unactionable_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        for message in UNACTIONABLE_RAY_WARNINGS:
            warnings.filterwarnings("ignore", message=re.escape(message))
        yield


def build_dataset(config: DigitizeConfig, sources: list[SourceFile], plan: PoolPlan,
                  done: set[tuple[str, int]] | None = None) -> ray.data.Dataset:
    with _without_unactionable_warnings():
        return _build_dataset(config, sources, plan, done)


def _build_dataset(config: DigitizeConfig, sources: list[SourceFile], plan: PoolPlan,
                   done: set[tuple[str, int]] | None) -> ray.data.Dataset:
    engine = engine_class(config.engine.name)
    items = [asdict(s) for s in sources]
    ds = ray.data.from_items(items, override_num_blocks=max(1, min(len(items), 256)))
    ds = ds.map_batches(
        split_documents,
        fn_kwargs={"config": config, "done": done or set()},
        batch_size=1,
        batch_format="pyarrow",
        num_cpus=TASK_CPUS,
        max_retries=ACTOR_TASK_RETRIES,  # a retry finds the document that killed the task (pipeline.run.split)
    )
    if plan.render_in_actor:
        ds = _split_blocks(ds, max(REFS_PER_BLOCK, engine.pages_per_call(config.engine)))
        recognizer: type = RenderAndRecognizeActor
    else:
        ds = ds.map_batches(
            RouteActor,
            fn_constructor_kwargs={"config": config},
            batch_size=max(1, engine.pages_per_call(config.engine)),
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=plan.route_workers),
            num_cpus=TASK_CPUS,
            max_task_retries=ACTOR_TASK_RETRIES,
        )
        recognizer = RecognizeActor
    ds = ds.map_batches(
        recognizer,
        fn_constructor_kwargs={"config": config},
        batch_size=engine.pages_per_call(config.engine),
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=plan.workers),
        num_cpus=plan.num_cpus,
        num_gpus=plan.num_gpus or None,
        max_task_retries=ACTOR_TASK_RETRIES,
    )
    return ds


def start_local_ray(num_cpus: int | None = None, dashboard: bool = False) -> None:
    """Start a Ray on this machine for the jobs, tests and benches: the repository importable in
    every worker, and one OpenMP thread per process (actors that each spread Tesseract over every
    core slow one another down). No dashboard unless asked: it costs a second of start-up and a
    process; Ray Train needs it (its state API tells Train's placement-group cleaner whether the
    run's controller lives; without it the cleaner warns every few seconds of the run).

    The worker settings go into the environment the node's processes inherit, not into a
    runtime_env: workers with a runtime_env wait for Ray's runtime-env agent and cannot use the
    workers Ray prestarts, which delays a fresh job's first pages by seconds. The driver's own
    environment is restored afterwards. Always a new Ray ("local"): without it ray.init joins the
    last cluster `ray start` made on this machine, which is not what a job without --address or
    RAY_ADDRESS asked for.

    The node's processes are told their own cluster's address (RAY_ADDRESS, on a GCS port chosen
    here): Ray code that looks its cluster up by itself, such as Train's placement-group cleaner,
    otherwise takes the last Ray started on the machine, and when that is another job's, finds
    no controller there and removes the training run's placement group.
    """
    gcs_port = free_local_port()
    worker_env = {
        "PYTHONPATH": os.pathsep.join(p for p in (REPO_ROOT, os.environ.get("PYTHONPATH")) if p),
        "OMP_THREAD_LIMIT": "1",
        "RAY_GCS_SERVER_PORT": str(gcs_port),
        "RAY_ADDRESS": f"{LOCAL_HOST}:{gcs_port}",
    }
    saved = {key: os.environ.get(key) for key in worker_env}
    os.environ.update(worker_env)
    try:
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=dashboard, _system_config=LOCAL_SYSTEM_CONFIG)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def free_local_port() -> int:
    """A TCP port on the loopback address that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((LOCAL_HOST, 0))
        return probe.getsockname()[1]


def run_pipeline(config: DigitizeConfig, sources: list[SourceFile]) -> str:
    """Run the page pipeline into OUT/pages/run_id=RUN and return that folder.

    Starting again with the same run id resumes: pages already written are skipped.
    """
    plan = plan_pool(config)
    log.info("recognizer pool: %d actor(s), %.2f CPU and %.0f GPU each", plan.workers, plan.num_cpus, plan.num_gpus)
    if config.engine.vlm_model and not plan.num_gpus:
        print("digitize: --vlm-model is used on GPU actors only, and this run's have none: table pages are read "
              "as any other page", flush=True)
    out = pages_dir(config)
    fs, path = filesystem(out)
    done = completed_pages(fs, path, retry_errors=config.retry_errors)
    if done:
        print(f"digitize: resuming run {config.run_id}: {len(done)} page(s) already written are skipped", flush=True)
    if not sources:
        return out
    ctx = ray.data.DataContext.get_current()
    ctx.target_max_block_size = BLOCK_BYTES
    ctx.execution_options.resource_limits = ctx.execution_options.resource_limits.copy(
        object_store_memory=max(256 * 2**20, plan.workers * PAGES_IN_FLIGHT_PER_WORKER * BLOCK_BYTES // 2)
    )
    # Ray Data reserves each operator a share of the CPUs; the actors' claim uses up the light
    # tasks' share and the split task waited seconds for budget at the start of every run. With
    # rendering in the actors only page references and finished rows cross the object store,
    # so the reservation buys nothing there.
    ctx.op_resource_reservation_enabled = not plan.render_in_actor
    dataset = build_dataset(config, sources, plan, done)
    # the write tasks, like the render tasks, must fit beside the actors (a default 1-CPU write
    # task next to two 0.8-CPU actors on a 2-CPU node never gets scheduled)
    with _without_unactionable_warnings():  # the executor warns while the write runs it
        dataset.write_parquet(path, filesystem=fs, compression="zstd", min_rows_per_file=config.rows_per_file,
                              ray_remote_args={"num_cpus": TASK_CPUS})
    return out
