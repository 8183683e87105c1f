"""TrOCR throughput on CPU with a randomly initialised model of trocr-base size.

1. lines/s at batch 1, 8 and 32, fp32 vs bf16 (same crops, same max_new_tokens: a random model
   never stops early, so every line decodes the same number of tokens), and the encoder alone
   per line: it reads a 384x384 image whatever the batch, so its share of a batch-1 line bounds
   what batching can gain on a CPU.
2. the engine's whole page path (segmentation, crops, batching, assembly) in lines/s vs the
   model alone on the same crops.

    python bench/bench_trocr.py [--lines 32] [--max-new-tokens 12]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from pipeline.run.config import EngineConfig, RenderConfig  # noqa: E402
from pipeline.page.documents import RenderSpec, open_document  # noqa: E402
from pipeline.engines import PageImage  # noqa: E402
from pipeline.engines.trocr import TrOCREngine  # noqa: E402
from tests.corpus import page_text, write_born_digital_pdf  # noqa: E402
from tests.tiny_models import _tokenizer  # noqa: E402


TROCR_BASE_VOCAB = 50265  # RoBERTa's vocabulary, as in microsoft/trocr-base-*


def build_base_sized(folder: Path, vocab: int = TROCR_BASE_VOCAB) -> Path:
    """trocr-base geometry: ViT-base encoder at 384 px, 12-layer 1024-wide decoder with trocr-base's
    vocabulary size (the output layer is a fifth of the decoder); random weights. The small test
    tokenizer decodes the ids it knows and drops the rest, which does not change the model's cost."""
    from transformers import TrOCRConfig, TrOCRProcessor, ViTConfig, VisionEncoderDecoderConfig, VisionEncoderDecoderModel
    from transformers.models.vit import ViTImageProcessorPil

    tok = _tokenizer()
    enc = ViTConfig(image_size=384, patch_size=16, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)
    dec = TrOCRConfig(vocab_size=max(vocab, len(tok)), d_model=1024, decoder_layers=12, decoder_attention_heads=16, decoder_ffn_dim=4096,
                      pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      decoder_start_token_id=tok.bos_token_id)
    cfg = VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec)
    cfg.decoder_start_token_id, cfg.pad_token_id, cfg.eos_token_id = tok.bos_token_id, tok.pad_token_id, tok.eos_token_id
    model = VisionEncoderDecoderModel(cfg)
    model.generation_config.decoder_start_token_id = tok.bos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.forced_eos_token_id = None
    model.save_pretrained(folder)
    TrOCRProcessor(image_processor=ViTImageProcessorPil(size={"height": 384, "width": 384}), tokenizer=tok).save_pretrained(folder)
    return folder


def encoder_seconds_per_line(engine: TrOCREngine, crops: list) -> float:
    """The vision encoder's time per line image, batched as given (the part batching cannot share)."""
    import torch

    pixel_values = engine.processor(images=crops, return_tensors="pt").pixel_values.to(engine.placement.dtype)
    encoder = engine.model.get_encoder()
    with torch.inference_mode():
        encoder(pixel_values=pixel_values[:1])
        started = time.perf_counter()
        encoder(pixel_values=pixel_values)
    return (time.perf_counter() - started) / len(crops)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=12)
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--vocab", type=int, default=TROCR_BASE_VOCAB, help="decoder vocabulary size")
    parser.add_argument("--threads", type=int, default=1, help="torch threads: 1 is what each CPU actor gets on this node")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="bench-trocr-"))
    model_dir = build_base_sized(tmp / "model", args.vocab)
    pdf = tmp / "page.pdf"
    write_born_digital_pdf(pdf, [page_text("eng", i) for i in range(2)])
    doc = open_document(pdf.read_bytes(), RenderConfig())
    pages = [doc.render(i, RenderConfig(), RenderSpec("RGB")) for i in range(2)]

    results: dict = {"lines": args.lines, "max_new_tokens": args.max_new_tokens, "vocab": args.vocab, "throughput": {}, "encoder_s_per_line": {}}
    dtypes = args.dtypes.split(",")
    for dtype in dtypes:
        engine = TrOCREngine.load(EngineConfig(name="trocr", model=str(model_dir), dtype=dtype, max_new_tokens=args.max_new_tokens))
        # line crops as the engine cuts them, repeated to the wanted count
        regions = [engine.segmenter.segment(p.pixels, p.dpi)[0] for p in pages]
        crops = [Image.fromarray(p.pixels).crop(tuple(int(v) for v in ln.bbox)) for p, rs in zip(pages, regions)
                 for r in rs for para in r.paragraphs for ln in para.lines]
        crops = (crops * (args.lines // len(crops) + 1))[: args.lines]
        for batch in (1, 8, 32):
            engine.cfg = EngineConfig(name="trocr", model=str(model_dir), dtype=dtype, max_new_tokens=args.max_new_tokens, batch_size=batch)
            engine.read_lines(crops[:batch])  # warm-up
            started = time.perf_counter()
            engine.read_lines(crops)
            rate = len(crops) / (time.perf_counter() - started)
            results["throughput"][f"{dtype}_batch{batch}"] = rate
            print(f"trocr-base random, {dtype:>8}, {args.threads} thread(s), batch {batch:>2}: {rate:6.2f} lines/s", flush=True)
        results["encoder_s_per_line"][dtype] = enc = encoder_seconds_per_line(engine, crops[:8])
        bound = 1 / results["throughput"][f"{dtype}_batch1"] / enc
        print(f"  encoder alone {enc * 1000:.0f} ms a line at batch 8 = {100 / bound:.0f} % of a batch-1 line: "
              f"batching can gain at most {bound:.2f}x here", flush=True)
        if dtype == "bfloat16":
            engine.cfg = EngineConfig(name="trocr", model=str(model_dir), dtype=dtype, max_new_tokens=args.max_new_tokens, batch_size=8)
            page_crops = crops[: sum(1 for rs in regions for r in rs for para in r.paragraphs for _ in para.lines)]
            started = time.perf_counter()
            engine.read_lines(page_crops)
            model_t = time.perf_counter() - started
            started = time.perf_counter()
            recs = engine.recognize([PageImage(p.pixels, p.dpi) for p in pages])
            engine_t = time.perf_counter() - started
            # both sides read the same lines (the engine segments the same pages); line blocks
            # cannot be counted, since a random model over the full vocabulary writes ids the
            # small test tokenizer cannot spell and such lines decode empty
            assert len(recs) == len(pages) and not any("no_lines" in r.flags for r in recs)
            lines = len(page_crops)
            results["pipeline_vs_model"] = {"lines": lines, "model_lines_per_s": lines / model_t,
                                            "engine_lines_per_s": lines / engine_t, "ratio": model_t / engine_t}
            r = results["pipeline_vs_model"]
            print(f"engine page path {r['engine_lines_per_s']:.2f} lines/s vs model alone {r['model_lines_per_s']:.2f} lines/s "
                  f"-> ratio {r['ratio']:.2f} (target >= 0.85)", flush=True)
    t = results["throughput"]
    for dtype in dtypes:
        print(f"{dtype}: batch 8 / batch 1 = {t[f'{dtype}_batch8'] / t[f'{dtype}_batch1']:.2f}, "
              f"batch 32 / batch 1 = {t[f'{dtype}_batch32'] / t[f'{dtype}_batch1']:.2f} (target >= 3)")
    if {"float32", "bfloat16"} <= set(dtypes):
        print(f"bf16 / fp32 at batch 8: {t['bfloat16_batch8'] / t['float32_batch8']:.2f}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"trocr_{'_'.join(dtypes)}_{args.max_new_tokens}tok.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
