"""The command lines: every declared entry point resolves, and digitize's defaults are the
configuration's own."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

from jobs.digitize import build_config, parse_args
from pipeline.run.config import DigitizeConfig, EngineConfig, RenderConfig, TextLayerConfig

ROOT = Path(__file__).resolve().parents[1]


def test_every_entry_point_names_a_main_that_exists():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"digitize", "digitize-review-export", "digitize-review-import", "digitize-index"} <= set(scripts)
    for name, target in scripts.items():
        module, _, attr = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attr)), name


def test_a_job_file_runs_as_a_script_without_path_tricks():
    """`python jobs/NAME.py` (what `ray job submit` runs) imports the project as an installed package."""
    for job in ("digitize", "review_export", "index"):
        done = subprocess.run([sys.executable, str(ROOT / "jobs" / f"{job}.py"), "--help"], capture_output=True, text=True,
                              cwd="/", timeout=120)
        assert done.returncode == 0 and "usage" in done.stdout, done.stderr


def test_command_line_defaults_are_the_configuration_defaults():
    config = build_config(parse_args(["--input", "in", "--output", "out"]))
    expected = DigitizeConfig(input=config.input, output=config.output, run_id=config.run_id,
                              s3_endpoint=config.s3_endpoint)
    assert config.engine == EngineConfig(tessdata=config.engine.tessdata)
    assert config.render == RenderConfig() and config.text_layer == TextLayerConfig()
    assert config == expected
