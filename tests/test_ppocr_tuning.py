"""Fine-tuning PP-OCR's recognizer (the rapidocr engine's, weights inside the wheel): its ONNX
graph run by torch as onnxruntime runs it, tuned weights written back into the same graph,
the real Ray Train path, and the engines reading with the tuned model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.recognizer.ppocr.model import Alphabet, line_pixels, load_onnx, save, stock_model, trainable
from tests.line_data import line_image, sentences, write_line_folder

ROOT = Path(__file__).resolve().parents[1]
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(autouse=True)
def _threads():
    from pipeline.run.devices import set_torch_threads

    previous = torch.get_num_threads()
    set_torch_threads()  # the suite caps OpenMP at one thread; torch above the cap crawls
    yield
    torch.set_num_threads(previous)


def _line_tensor(texts: list[str]) -> torch.Tensor:
    images = [line_image(t, height=48) for t in texts]
    width = max(320, max(i.width for i in images))
    x = torch.from_numpy(np.stack([line_pixels(i, width) for i in images]))
    return x[:, None].expand(-1, 3, -1, -1).contiguous()


def test_the_graph_runs_in_torch_as_in_onnxruntime_and_takes_tuned_weights_back(tmp_path):
    stock = stock_model()
    module = trainable(load_onnx(stock))
    x = _line_tensor(["Je soussigné, sain de corps", "lègue à mon frère"])
    session = ort.InferenceSession(stock)
    with torch.no_grad():
        logits = module(x)
        np.testing.assert_allclose(logits.softmax(-1).numpy(), session.run(None, {"x": x.numpy()})[0], atol=1e-4)
        # what a fine-tune does to the weights, then saved into the graph RapidOCR loads
        for parameter in module.parameters():
            parameter.mul_(1.02)
        tuned = module(x).softmax(-1).numpy()
    save(module, stock, str(tmp_path / "model.onnx"))
    written = ort.InferenceSession(str(tmp_path / "model.onnx")).run(None, {"x": x.numpy()})[0]
    np.testing.assert_allclose(written, tuned, atol=1e-4)
    assert np.abs(written - session.run(None, {"x": x.numpy()})[0]).max() > 1e-3
    assert Alphabet.of(load_onnx(str(tmp_path / "model.onnx"))).chars == Alphabet.of(load_onnx(stock)).chars


def test_the_gradient_reaches_every_weight_and_ctc_targets_use_its_alphabet():
    graph = load_onnx(stock_model())
    alphabet = Alphabet.of(graph)
    module = trainable(graph)
    texts = ["sœur lègue", "mai 1916"]
    log_probs = module(_line_tensor(texts)).log_softmax(-1).transpose(0, 1)
    targets = [alphabet.encode(t) for t in texts]
    loss = torch.nn.functional.ctc_loss(log_probs, torch.tensor(sum(targets, [])),
                                        torch.full((2,), log_probs.shape[0]), torch.tensor([len(t) for t in targets]))
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())
    assert alphabet.missing("sœur ᚠ") == {"ᚠ"}  # a runic letter: not in its alphabet


def test_init_from_an_onnx_file_that_is_not_a_line_recognizer_is_refused(tmp_path):
    from pipeline.recognizer.config import TrainConfig
    from pipeline.recognizer.data import Gathered, TrainDataError
    from pipeline.recognizer.ppocr.start import ppocr_start

    detector = next(Path(stock_model()).parent.glob("*det*.onnx"))
    cfg = TrainConfig(output=str(tmp_path), init_from=str(detector))
    with pytest.raises(TrainDataError, match="not a PP-OCR recognizer"):
        ppocr_start(cfg, Gathered(), str(tmp_path / ".start"))


def test_fine_tune_on_ray_train_then_the_engines_read_with_the_tuned_model(tmp_path):
    from pipeline.engines.base import EngineLoadError
    from pipeline.engines.rapidocr import RapidOCREngine
    from pipeline.run.config import EngineConfig

    lines = write_line_folder(tmp_path / "lines", {"A": sentences(8, 1), "V": sentences(3, 3)}, split={"V": "val"})
    # synthetic lines reach the stream unchecked: one the alphabet cannot write (a private-use
    # character) must be counted and left out, not stop the run
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    synthetic = tmp_path / "synthetic.parquet"
    pngs = []
    for text in ("le notaire \ue000", "de la ville"):
        buffer = io.BytesIO()
        line_image(text, height=48).save(buffer, format="PNG")
        pngs.append({"bytes": buffer.getvalue()})
    pq.write_table(pa.table({"image": pngs, "text": ["le notaire \ue000", "de la ville"]}), synthetic)
    out = tmp_path / "tuned"
    command = [sys.executable, "jobs/train_recognizer.py", "--output", str(out), "--lines", str(lines),
               "--synthetic", str(synthetic),
               "--val-lines", str(lines), "--init-from", "rapidocr", "--batch-size", "4", "--steps", "4",
               "--eval-every", "2", "--warmup-steps", "1", "--learning-rate", "1e-4", "--cpus-per-worker", "0.5"]
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    log = [json.loads(x) for x in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r.get("event") == "validation"] == [0, 2, 4]  # where it started, then on
    [skipped] = [r["reasons"] for r in log if r.get("event") == "skipped_in_stream"]
    assert skipped.get("characters the tokenizer lacks", 0) >= 1
    vals = {r["step"]: r["val_cer"] for r in log if r.get("event") == "validation"}
    best = json.loads((out / "best.json").read_text())
    assert best["val_cer"] == min(vals.values()) and vals[best["step"]] == best["val_cer"]
    # the steps changed the weights (the checkpoint), and model.onnx holds the best step's
    [last] = sorted((out / "checkpoints").glob("train/checkpoint_*/state.pt"))[-1:]
    trained = torch.load(last, weights_only=False)["module"]
    stock = trainable(load_onnx(stock_model())).state_dict()
    assert any(not torch.equal(trained[k], stock[k]) for k in stock)
    assert "--rapidocr-model" in (out / "README.md").read_text()

    cfg = EngineConfig(name="rapidocr", rapidocr_models=(str(out),))
    RapidOCREngine.preflight(cfg)
    engine = RapidOCREngine.load(cfg)
    assert engine.model_id.endswith(":tuned")
    [result] = engine.read_lines([line_image("le la de et", height=48).convert("RGB")])
    assert result.text and result.confidence is not None
    with pytest.raises(EngineLoadError, match="no recognizer"):
        RapidOCREngine.preflight(EngineConfig(name="rapidocr", rapidocr_models=("wheel", str(tmp_path / "nowhere"))))
