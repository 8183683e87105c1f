"""The page pipeline's Ray actors. Each runs its in-process stage in a worker child process that
it replaces when a page crashes, hangs or bloats it (pipeline.run.isolation): such a page ends as
one error row and the other pages of its batch are written."""

from __future__ import annotations

from functools import partial
from typing import Any

import pyarrow as pa

from pipeline.engines import engine_class
from pipeline.page.documents import RenderSpec
from pipeline.run.config import DigitizeConfig
from pipeline.run.devices import actor_cpu_threads, actor_device, build_pinned
from pipeline.run.isolation import IsolatedStage, IsolationPolicy, WorkerFailure, default_memory_limit
from pipeline.run.recognize import Recognize, RouteAndRecognize, finish_row
from pipeline.run.records import WORK_SCHEMA, new_row, to_table
from pipeline.run.route import RoutePages
from schemas import PAGE_SCHEMA

DEFAULT_PAGE_TIMEOUT_S = 600.0  # an engine without its own page_timeout


def _route_in_worker(config: DigitizeConfig, spec: RenderSpec):
    return RoutePages(config, spec).route_rows


def isolation_policy(config: DigitizeConfig, on_gpu: bool) -> IsolationPolicy:
    engine = engine_class(config.engine.name)
    default_timeout = getattr(engine, "page_timeout", lambda cfg, gpu: DEFAULT_PAGE_TIMEOUT_S)(config.engine, on_gpu)
    return IsolationPolicy(
        page_timeout=config.page_timeout or default_timeout,
        max_page_retries=config.max_page_retries,
        memory_limit=config.worker_memory_mb * 2**20 if config.worker_memory_mb else default_memory_limit(),
    )


def failed_row(row: dict[str, Any], failure: WorkerFailure, config: DigitizeConfig) -> dict[str, Any]:
    """The work row for a page whose worker process failed on it."""
    out = new_row(**{k: v for k, v in row.items() if k not in ("image", "image_mode", "page_last")})
    out.update(status="error", error_kind=failure.kind, error=failure.detail, engine=config.engine.name)
    return out


def finished_failed_row(row: dict[str, Any], failure: WorkerFailure, config: DigitizeConfig) -> dict[str, Any]:
    out = failed_row(row, failure, config)
    finish_row(out, config)
    return out


def storable_table(rows: list[dict[str, Any]], schema: pa.Schema, config: DigitizeConfig) -> pa.Table:
    """The rows as a table; a row that does not fit the schema (a value out of range) becomes its
    page's error row instead of failing the whole block."""
    try:
        return to_table(rows, schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        kept = []
        for row in rows:
            try:
                to_table([row], schema)
                kept.append(row)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
                failure = WorkerFailure("invalid_row", f"the page's row cannot be stored: {exc}")
                identity = {k: row.get(k) for k in ("doc_id", "source_uri", "page", "page_count", "run_id")}
                kept.append(finished_failed_row(identity, failure, config) if schema is PAGE_SCHEMA
                            else failed_row(identity, failure, config))
        return to_table(kept, schema)


class _IsolatedActor:
    work: type  # the in-process stage the child runs

    def __init__(self, config: DigitizeConfig):
        self.config = config
        device = actor_device()
        self.stage = IsolatedStage(
            partial(build_pinned, device, actor_cpu_threads(), partial(self.work, config)),
            isolation_policy(config, device != "cpu"),
            partial(finished_failed_row, config=config),
        )

    def __call__(self, batch: pa.Table) -> pa.Table:
        return storable_table(self.stage(batch.to_pylist()), PAGE_SCHEMA, self.config)


class RecognizeActor(_IsolatedActor):
    """The recognizer actor of the GPU layout: rendered pages in (from CPU tasks), page rows out."""

    work = Recognize


class RenderAndRecognizeActor(_IsolatedActor):
    """Render and recognize in one actor, for actors that run on CPUs.

    On CPU nodes the render tasks and the engine share the same cores anyway; rendering where
    the page is read keeps its pixels (several MB a page) out of the object store and spares
    Ray the extra worker processes and operator. GPU actors keep rendering in CPU tasks so it
    overlaps the device's work.
    """

    work = RouteAndRecognize




class RouteActor:
    """The route-and-render stage of the GPU layout: page references in, work rows (pixels or
    text-layer text) out, for the GPU recognizer actors."""

    def __init__(self, config: DigitizeConfig):
        spec = engine_class(config.engine.name).render_spec(config.engine)
        self.config = config
        self.stage = IsolatedStage(partial(_route_in_worker, config, spec), isolation_policy(config, on_gpu=False),
                                   partial(failed_row, config=config))

    def __call__(self, batch: pa.Table) -> pa.Table:
        return storable_table(self.stage(batch.to_pylist()), WORK_SCHEMA, self.config)

