"""ray_cluster.yaml against the JSON schema Ray ships for cluster-launcher configs, plus the
properties the product relies on."""

from __future__ import annotations

import json
import os

import jsonschema
import yaml

from tests.conftest import ROOT


def _config() -> dict:
    return yaml.safe_load((ROOT / "ray_cluster.yaml").read_text())


def test_cluster_config_validates_against_rays_schema():
    import ray

    schema = json.loads(open(os.path.join(os.path.dirname(ray.__file__), "autoscaler", "ray-schema.json")).read())
    jsonschema.validate(_config(), schema)


def test_head_runs_no_ocr_and_gpu_workers_scale_from_zero():
    config = _config()
    nodes = config["available_node_types"]
    head = nodes[config["head_node_type"]]
    assert head["resources"].get("CPU") == 0 and not head["resources"].get("GPU")
    assert nodes["gpu_worker"]["min_workers"] == 0 and nodes["gpu_worker"]["max_workers"] > 0
    assert config["provider"]["type"] == "aws"
    assert any("scripts/setup.sh" in cmd for cmd in config["setup_commands"])
    assert "jobs/digitize.py" in (ROOT / "ray_cluster.yaml").read_text()
