"""Corrected Label Studio tasks back into gold text (Parquet), keyed by doc_id, page and line.

Reads Label Studio's JSON export (a list of tasks, each with `annotations[].result`); when a
task has no annotation the prediction stands, unchanged.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.gold import GOLD_SCHEMA


def _regions(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    regions: dict[str, dict[str, Any]] = {}
    for item in results:
        region = regions.setdefault(item["id"], {})
        value = item.get("value", {})
        if item.get("type") == "textarea":
            region["text"] = "\n".join(value.get("text") or [])
        if {"x", "y", "width", "height"} <= value.keys():
            region["bbox"] = [value["x"], value["y"], value["width"], value["height"]]
    return regions


def gold_rows(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for task in tasks:
        data = task["data"]
        predicted = _regions((task.get("predictions") or [{}])[0].get("result", []))
        annotations = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
        annotation = annotations[-1] if annotations else None
        corrected = _regions(annotation["result"]) if annotation else predicted
        annotator = str((annotation or {}).get("completed_by", "")) if annotation else ""
        order = sorted(corrected, key=lambda rid: (corrected[rid].get("bbox", [0, 0])[1], corrected[rid].get("bbox", [0, 0])[0]))
        page_gold, page_machine = [], []
        for index, rid in enumerate(order):
            gold = corrected[rid].get("text", "")
            machine = predicted.get(rid, {}).get("text", "")
            page_gold.append(gold)
            page_machine.append(machine)
            rows.append(dict(doc_id=data["doc_id"], page=int(data["page"]), line=index, bbox_pct=corrected[rid].get("bbox"),
                             machine_text=machine, gold_text=gold, changed=gold != machine, annotator=annotator,
                             source_uri=data.get("source_uri")))
        rows.append(dict(doc_id=data["doc_id"], page=int(data["page"]), line=-1, bbox_pct=None,
                         machine_text=data.get("machine_text", "\n".join(page_machine)), gold_text="\n".join(page_gold),
                         changed=page_gold != page_machine, annotator=annotator, source_uri=data.get("source_uri")))
    return rows


def import_tasks(tasks_path: str, output: str) -> tuple[str, int, int]:
    """Write OUTPUT/gold.parquet; returns (path, pages, changed lines)."""
    with open(tasks_path, encoding="utf-8") as handle:
        tasks = json.load(handle)
    if isinstance(tasks, dict):
        tasks = [tasks]
    rows = gold_rows(tasks)
    os.makedirs(output, exist_ok=True)
    path = os.path.join(output, "gold.parquet")
    pq.write_table(pa.Table.from_pylist(rows, schema=GOLD_SCHEMA), path, compression="zstd")
    return path, len(tasks), sum(1 for r in rows if r["line"] >= 0 and r["changed"])
