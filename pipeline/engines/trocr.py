"""TrOCR: a VisionEncoderDecoderModel that reads one text line at a time.

Pages are segmented into lines (pipeline/page/segment.py), line crops from every page of the call
are batched together sorted by width (similar lengths decode together), and the lines go back
into their page's reading order. Token confidences are the exponentiated transition scores
(`compute_transition_scores(..., normalize_logits=True)`).
"""

from __future__ import annotations

from typing import ClassVar

from PIL import Image

from pipeline.run.config import EngineConfig
from pipeline.page.documents import RenderSpec
from pipeline.engines.decoding import GenerationReader
from pipeline.engines.line_pages import LinePageEngine, LineResult, preflight_segmenter
from pipeline.engines.hf import check_model_source, choose_placement, generation_budget, load_pretrained, token_probabilities
from pipeline.page.scoring import span_confidence
from pipeline.page.segment import line_segmenter

MODEL_TYPES = ("vision-encoder-decoder",)


class TrOCREngine(LinePageEngine):
    name: ClassVar[str] = "trocr"

    def __init__(self, model, processor, cfg: EngineConfig, placement, segmenter):
        self.model = model
        self.processor = processor
        self.cfg = cfg
        self.placement = placement
        self.segmenter = segmenter
        self.max_new_tokens = generation_budget(model, cfg.max_new_tokens)
        self.reader = GenerationReader(processor.tokenizer, model.generation_config, self.max_new_tokens)

    @classmethod
    def preflight(cls, cfg: EngineConfig) -> None:
        check_model_source(cfg.model, cls.name, MODEL_TYPES)
        preflight_segmenter(cfg)

    @classmethod
    def load(cls, cfg: EngineConfig, device: str = "cpu") -> "TrOCREngine":
        from transformers import TrOCRProcessor, VisionEncoderDecoderModel

        cls.preflight(cfg)
        placement = choose_placement(device, cfg.quantize, cfg.dtype)
        model, processor = load_pretrained(VisionEncoderDecoderModel, TrOCRProcessor, cfg, placement, "TrOCR")
        return cls(model, processor, cfg, placement, line_segmenter(cfg.segmenter, cfg.tessdata, device))

    @staticmethod
    def render_spec(cfg: EngineConfig) -> RenderSpec:
        return RenderSpec(mode="RGB")

    @staticmethod
    def pages_per_call(cfg: EngineConfig) -> int:
        return 4  # lines of a few pages pool into full batches

    @staticmethod
    def uses_gpu(cfg: EngineConfig) -> bool:
        return True

    @staticmethod
    def page_timeout(cfg: EngineConfig, on_gpu: bool) -> float:
        return 120.0 if on_gpu else 900.0  # a page of lines, each a full generate on a CPU

    @property
    def model_id(self) -> str:
        return str(self.cfg.model)

    # -- lines -----------------------------------------------------------------------------

    def read_lines(self, crops: list[Image.Image]) -> list[LineResult]:
        """Recognize line images, batched by width; results in input order."""
        order = sorted(range(len(crops)), key=lambda i: crops[i].width)
        results: list[LineResult | None] = [None] * len(crops)
        size = max(1, self.cfg.batch_size)
        for start in range(0, len(order), size):
            chunk = order[start : start + size]
            for i, res in zip(chunk, self._generate([crops[i] for i in chunk])):
                results[i] = res
        return results  # type: ignore[return-value]

    def _generate(self, crops: list[Image.Image]) -> list[LineResult]:
        import torch

        pixel_values = self.processor(images=crops, return_tensors="pt").pixel_values
        pixel_values = pixel_values.to(self.placement.device, dtype=self.placement.dtype if self.cfg.quantize != "int8" else torch.float32)
        with torch.inference_mode():
            out, probs, embeddings = self._run(pixel_values)
        generated = out.sequences[:, 1:].cpu().numpy()  # drop the decoder start token
        return self._lines(generated, probs, embeddings)

    def _run(self, pixel_values):
        out = self.model.generate(
            pixel_values,
            num_beams=self.cfg.num_beams,
            max_new_tokens=self.max_new_tokens,
            do_sample=False,
            output_scores=True,
            output_logits=True,
            return_dict_in_generate=True,
        )
        probs = token_probabilities(self.model, out, self.cfg.num_beams).cpu().numpy()
        embeddings = None
        if self.cfg.emit_embeddings:
            hidden = self.model.get_encoder()(pixel_values=pixel_values).last_hidden_state
            embeddings = hidden.float().mean(dim=1).cpu().numpy()
        return out, probs, embeddings

    def _lines(self, generated, probs, embeddings) -> list[LineResult]:
        results = []
        for j in range(generated.shape[0]):
            line = self.reader.read(generated[j][: probs.shape[1]].tolist(), probs[j].tolist())
            results.append(
                LineResult(
                    text=line.text.strip(),
                    tokens=line.tokens,
                    confidence=span_confidence(line.tokens),
                    hit_max_tokens=line.hit_max_tokens,
                    embedding=embeddings[j].tolist() if embeddings is not None else None,
                )
            )
        return results
