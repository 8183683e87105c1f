"""LightOnOCR: pages/s of the whole pipeline vs the model's own generate on the same pages.

On CPU it builds a small random LightOnOCR (real config classes); on a GPU machine pass
--model lightonai/LightOnOCR-1B-1025 (or a local copy) and the same script measures the real
model, with the pipeline's actor on the GPU Ray assigns.

    python bench/bench_lightonocr.py [--pages 64] [--batch-size 4] [--max-new-tokens 32] [--model PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


from pipeline.run.config import DigitizeConfig, EngineConfig, RenderConfig, TextLayerConfig  # noqa: E402
from pipeline.page.documents import open_document  # noqa: E402
from pipeline.engines.lightonocr import LightOnOCREngine  # noqa: E402
from tests.corpus import page_text, write_born_digital_pdf  # noqa: E402
from tests.tiny_models import CHAT_TEMPLATE, LIGHTON_SPECIALS, _tokenizer  # noqa: E402


def build_small_random(folder: Path, longest_edge: int) -> Path:
    """A small random LightOnOCR (4-layer 128-wide Pixtral, 4-layer 256-wide Qwen3)."""
    from transformers import LightOnOcrConfig, LightOnOcrForConditionalGeneration, LightOnOcrProcessor
    from transformers.models.pixtral import PixtralImageProcessorPil

    tok = _tokenizer(extra_special={**LIGHTON_SPECIALS, "im_start": "<|im_start|>", "im_end": "<|im_end|>"}, chat_template=CHAT_TEMPLATE)
    config = LightOnOcrConfig(
        text_config={"model_type": "qwen3", "vocab_size": len(tok), "hidden_size": 256, "num_hidden_layers": 4,
                     "num_attention_heads": 8, "num_key_value_heads": 4, "intermediate_size": 768, "head_dim": 32,
                     "max_position_embeddings": 8192, "pad_token_id": tok.pad_token_id, "eos_token_id": tok.eos_token_id},
        vision_config={"image_size": longest_edge, "patch_size": 14, "hidden_size": 128, "num_hidden_layers": 4,
                       "num_attention_heads": 4, "intermediate_size": 384, "head_dim": 32},
        image_token_id=tok.image_token_id, spatial_merge_size=2,
    )
    model = LightOnOcrForConditionalGeneration(config)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.save_pretrained(folder)
    LightOnOcrProcessor(image_processor=PixtralImageProcessorPil(size={"longest_edge": longest_edge}, patch_size={"height": 14, "width": 14}),
                        tokenizer=tok, patch_size=14, spatial_merge_size=2, chat_template=CHAT_TEMPLATE).save_pretrained(folder)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--longest-edge", type=int, default=448, help="processor size of the random CPU model")
    parser.add_argument("--model", default=None, help="a real checkpoint (GPU machines)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-lighton-"))
    model = args.model or str(build_small_random(tmp / "model", args.longest_edge))
    pdf, small_pdf = tmp / "pages.pdf", tmp / "small.pdf"
    write_born_digital_pdf(pdf, [page_text(["eng", "fra", "deu"][i % 3], i) for i in range(args.pages)])
    write_born_digital_pdf(small_pdf, [page_text("eng", i) for i in range(args.batch_size)])

    import torch

    device = "cuda:0" if torch.cuda.is_available() else "cpu"
    # the pipeline's CPU actor gets the whole CPUs Ray assigned it (one, on this node): measure
    # the model alone with the same threads, so the two sides compare the same compute
    torch.set_num_threads(1)
    cfg = EngineConfig(name="lightonocr", model=model, batch_size=args.batch_size, max_new_tokens=args.max_new_tokens)
    engine = LightOnOCREngine.load(cfg, device)
    doc = open_document(pdf.read_bytes(), RenderConfig())
    spec = engine.render_spec(cfg)
    images = [engine._model_image(doc.render(i, RenderConfig(), spec).pixels) for i in range(args.pages)]
    engine.generate(images[:1])  # warm-up
    started = time.perf_counter()
    for i in range(0, len(images), args.batch_size):
        engine.generate(images[i : i + args.batch_size])
    model_t = time.perf_counter() - started
    del engine

    import ray

    from connectors import discover
    from pipeline.run.ray_job import run_pipeline

    ray.init(include_dashboard=False, runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})

    def pipeline_seconds(path: Path, run_id: str) -> float:
        config = DigitizeConfig(input=str(path), output=str(tmp / "out"), run_id=run_id, engine=cfg,
                                text_layer=TextLayerConfig(mode="ocr"), workers=1)
        started = time.perf_counter()
        run_pipeline(config, discover(str(path)))
        return time.perf_counter() - started

    # a first run pays once for what a Ray session starts on first use (Ray Data's stats,
    # autoscaling and locality actors); the steady-state rate comes from two runs after it
    pipeline_seconds(small_pdf, "warm-up")
    pipe_t = pipeline_seconds(pdf, "large")
    small_t = pipeline_seconds(small_pdf, "small")
    ray.shutdown()
    steady = (args.pages - args.batch_size) / (pipe_t - small_t)
    result = {"pages": args.pages, "device": device, "model_pages_per_s": args.pages / model_t,
              "pipeline_pages_per_s": args.pages / pipe_t, "pipeline_steady_pages_per_s": steady,
              "ratio": model_t / pipe_t, "steady_ratio": steady / (args.pages / model_t), "pipeline_fixed_s": small_t - args.batch_size / steady}
    print(f"lightonocr ({'random small' if not args.model else args.model}, {device}), {args.pages} pages: pipeline "
          f"{result['pipeline_pages_per_s']:.3f} p/s vs model generate {result['model_pages_per_s']:.3f} p/s -> ratio {result['ratio']:.2f}; "
          f"steady state {steady:.3f} p/s -> ratio {result['steady_ratio']:.2f} (target >= 0.85); "
          f"fixed cost (actor start, model load) {result['pipeline_fixed_s']:.1f} s", flush=True)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "lightonocr.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
