"""Training the recognizer through the real Ray Train path: a kill (SIGKILL of the whole job)
and a resume that continues where it stopped; the review loop end to end with a tiny model;
a starting model whose tokenizer cannot write the data refused before training; the step loop
clipping the gradients at every step."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch

from pipeline.quality.metrics import cer
from pipeline.recognizer.architecture import PRESETS, build_model, build_processor
from pipeline.recognizer.config import SourceSpec, TrainConfig
from pipeline.recognizer.data import TrainDataError
from pipeline.recognizer.tokenizer import build_char_tokenizer
from tests.line_data import line_image, sentences, write_line_folder
from tests.tiny_models import _teach

ROOT = Path(__file__).resolve().parents[1]


def _log(output: Path) -> list[dict]:
    path = output / "train_log.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _checkpoints(output: Path) -> list[Path]:
    return sorted((output / "checkpoints").glob("train/checkpoint_*/state.pt"))


def test_kill_and_resume_continue_where_training_stopped(tmp_path):
    lines = write_line_folder(tmp_path / "lines", {"A": sentences(12, 1), "B": sentences(12, 2), "V": sentences(4, 3)},
                              split={"V": "val"})
    out = tmp_path / "model"
    command = [sys.executable, "jobs/train_recognizer.py", "--output", str(out), "--lines", str(lines), "--val-lines", str(lines),
               "--preset", "tiny", "--batch-size", "4", "--eval-every", "5", "--patience", "1000"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen(command + ["--steps", "100000"], cwd=ROOT, env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and len(_checkpoints(out)) < 2:
            assert first.poll() is None, "training stopped by itself"
            time.sleep(0.5)
        assert len(_checkpoints(out)) >= 2, "no checkpoint within 4 minutes"
        time.sleep(1.0)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the driver, its local Ray and the training worker
        first.wait()
    killed_at = max(r["step"] for r in _log(out) if r.get("event") == "validation")
    target = killed_at + 10
    logged = len(_log(out))
    litter = set(Path(tempfile.gettempdir()).glob("checkpoint_tmp_*"))
    second = subprocess.run(command + ["--steps", str(target)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    # the local Ray serves Ray Train's state queries: no warning every few seconds of an hour-long leg
    assert "Failed to query Ray Train Controller" not in second.stderr
    assert (second.stdout + second.stderr).count(f"[train] step {target}: validation CER") == 1  # each progress line once
    resumed = [r["step"] for r in _log(out)[logged:] if r.get("event") == "resumed"]  # where the leg took the run up
    assert resumed and 0 < resumed[0] <= killed_at
    new = [r for r in _log(out)[logged:] if r.get("event") == "validation"]
    assert new and all(r["step"] > resumed[0] for r in new)  # counting on from the checkpoint, not from zero
    assert new[-1]["step"] == target
    # the checkpoint read where it lies, not copied to /tmp and left there (a real model's: gigabytes a leg)
    assert set(Path(tempfile.gettempdir()).glob("checkpoint_tmp_*")) <= litter
    assert (out / "model.safetensors").exists() and (out / "README.md").exists() and (out / "learning_curve.png").exists()


def _page(truth: list[str], path: Path) -> Path:
    """A scan-like page: the lines one under the other, large and well apart."""
    from PIL import Image

    page = Image.new("L", (1400, 120 + 110 * len(truth)), 250)
    for i, text in enumerate(truth):
        page.paste(line_image(text, height=64), (80, 80 + 110 * i))
    page.save(path, dpi=(300, 300))
    return path


def test_review_loop_end_to_end_reads_the_corrected_lines_better(tmp_path):
    """digitize -> review export (Label Studio) -> corrected tasks -> review import ->
    train_recognizer --init-from -> digitize with the new model."""
    from jobs import digitize, review_export, review_import, train_recognizer
    from tests.conftest import ensure_ray

    ensure_ray()
    truth = ["le 3 mai 1916", "je lègue ma maison", "à mon frère Paul"]
    scans = tmp_path / "scans"
    scans.mkdir()
    _page(truth, scans / "will.png")
    tokenizer = build_char_tokenizer(truth + ["Paris juin 1917"])
    start = tmp_path / "v0"  # a model that reads every line as the same wrong words, as a model new to a hand does
    model, processor = build_model(PRESETS["tiny"], tokenizer), build_processor(PRESETS["tiny"], tokenizer)
    images = [line_image(t, height=64).convert("RGB") for t in ["Paris juin 1917", "ma sœur", "le mois de mai"] * 2]
    torch.set_num_threads(1)  # the suite caps OpenMP at one thread; torch above the cap crawls
    _teach(model, tokenizer, {"pixel_values": processor(images=images, return_tensors="pt").pixel_values}, "Paris juin", steps=250)
    model.save_pretrained(start)
    processor.save_pretrained(start)

    def read(model: Path, out: Path) -> str:
        assert digitize.main(["--input", str(scans), "--output", str(out), "--engine", "trocr", "--model", str(model),
                              "--review-threshold", "1.0"]) == 0
        import pyarrow.dataset as pads

        return pads.dataset(out / "pages", format="parquet").to_table(columns=["text"]).to_pylist()[0]["text"]

    before = read(start, tmp_path / "out0")
    assert review_export.main(["--pages", str(tmp_path / "out0"), "--output", str(tmp_path / "export"), "--format", "labelstudio",
                               "--threshold", "1.0"]) == 0
    tasks = json.loads((tmp_path / "export" / "tasks.json").read_text())
    corrected = []
    for task in tasks:  # the reviewer types each line's true text
        result = copy.deepcopy(task["predictions"][0]["result"])
        areas = sorted((r for r in result if r["type"] == "textarea"), key=lambda r: r["value"]["y"])
        assert len(areas) == len(truth)
        for area, text in zip(areas, truth):
            area["value"]["text"] = [text]
        corrected.append({**task, "annotations": [{"result": result, "completed_by": 1}]})
    (tmp_path / "corrected.json").write_text(json.dumps(corrected))
    assert review_import.main(["--tasks", str(tmp_path / "corrected.json"), "--output", str(tmp_path / "gold")]) == 0

    # validation: another document with these lines of this hand, held apart from the corrected page. All
    # three lines: with two, a model that reads every line as one of them can win the best checkpoint
    val = write_line_folder(tmp_path / "val", {"other": truth}, split={"other": "val"})
    tuned = tmp_path / "v1"
    # 400 steps: at 200 some runs still read every line as a mix of the three (the stream's order
    # and augmentation vary from run to run)
    assert train_recognizer.main(["--output", str(tuned), "--init-from", str(start), "--gold", f"{tmp_path / 'gold' / 'gold.parquet'}@64",
                                  "--val-lines", str(val), "--steps", "400", "--eval-every", "100", "--learning-rate", "3e-3",
                                  "--warmup-steps", "10", "--batch-size", "8"]) == 0
    card = (tuned / "README.md").read_text()
    assert "gold.parquet" in card and "| 3 |" in card  # the three corrected lines, counted in the card
    after = read(tuned, tmp_path / "out1")
    reference = "\n".join(truth)
    assert cer(reference, after) < cer(reference, before) - 0.1, (before, after)

    from transformers import AutoProcessor, VisionEncoderDecoderModel  # plain transformers, no project code

    from pipeline.engines.trocr import TrOCREngine
    from pipeline.run.config import EngineConfig

    crop = line_image(truth[1], height=64).convert("RGB")
    processor = AutoProcessor.from_pretrained(tuned)
    model = VisionEncoderDecoderModel.from_pretrained(tuned)
    ids = model.generate(**processor(images=crop, return_tensors="pt"), max_new_tokens=40, num_beams=1, do_sample=False)
    plain = processor.batch_decode(ids, skip_special_tokens=True)[0].strip()
    # the saved processor alone prepares the line as the engine does: the same reading, word for word
    engine = TrOCREngine.load(EngineConfig(name="trocr", model=str(tuned), dtype="float32", max_new_tokens=40))
    assert plain == engine.read_lines([crop])[0].text.strip()


def test_a_starting_tokenizer_that_lacks_most_characters_is_refused_before_training(tmp_path):
    from pipeline.recognizer.trainer import run

    greek = write_line_folder(tmp_path / "greek", {"A": ["καλημέρα κόσμε"], "B": ["ευχαριστώ πολύ"]}, split={"B": "val"})
    latin = build_char_tokenizer(["abcdefghijklmnopqrstuvwxyz "])
    start = tmp_path / "latin"
    build_model(PRESETS["tiny"], latin).save_pretrained(start)
    build_processor(PRESETS["tiny"], latin).save_pretrained(start)
    cfg = TrainConfig(output=str(tmp_path / "out"), sources=[SourceSpec("lines", str(greek))],
                      val_sources=[SourceSpec("lines", str(greek))], init_from=str(start))
    with pytest.raises(TrainDataError, match=r"can write only \d+% of the training characters"):
        run(cfg)
    assert not (tmp_path / "out" / "checkpoints").exists()


def test_gradients_are_clipped_at_every_step_when_the_parameters_come_as_a_generator(tmp_path):
    import ray.data

    from pipeline.recognizer.training_run import TrainingRun
    from tests.conftest import ensure_ray

    ensure_ray()
    torch.manual_seed(0)
    layer = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(layer.parameters(), lr=1.0)  # an update is the clipped gradient itself
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    seen = []

    def step(batch: dict):
        seen.append(torch.cat([p.detach().flatten() for p in layer.parameters()]).clone())
        x = torch.ones(len(batch["skip"]), 4)
        return 1000.0 * layer(x).sum(), {}, len(batch["skip"]), [""] * len(batch["skip"])

    run = TrainingRun(TrainConfig(output=str(tmp_path), steps=6, batch_size=2, eval_every=1000), rank=0, world=1)
    run.train(ray.data.from_items([{"skip": ""}] * 8), step, optimizer, scheduler, layer.parameters(), 0.01, lambda: False)
    moves = [float((b - a).norm()) for a, b in zip(seen, seen[1:])]
    assert len(moves) == 5 and max(moves) <= 0.01 + 1e-6, moves  # unclipped, a step moves the weights by thousands
