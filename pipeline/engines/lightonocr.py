"""LightOnOCR: a vision-language model (Pixtral encoder, Qwen3 decoder) that writes a whole
page as Markdown, tables included.

Pages are rendered with the longest side at about 1540 px (the model card's size), put in
the processor's chat template as one user turn holding the image, padded on the left and
generated in batches. Token confidences are the model's own probabilities of the tokens it
wrote (transition scores of the raw logits, so sampling's temperature and top-p do not
inflate them). The Markdown is finished by pipeline/page/markdown.py, which needs only token
pieces and probabilities: the seam where a vLLM-served model would plug in.
"""

from __future__ import annotations

from typing import ClassVar

from PIL import Image

from pipeline.run.config import EngineConfig
from pipeline.page.documents import RenderSpec
from pipeline.engines.base import PageImage
from pipeline.engines.decoding import GenerationReader
from pipeline.engines.hf import check_model_source, choose_placement, load_pretrained, token_probabilities
from pipeline.page.markdown import blocks_with_confidence, to_text
from pipeline.run.records import Recognition, Token
from pipeline.page.repetition import cut_repetition
from pipeline.page.scoring import page_score

MODEL_TYPES = ("lighton_ocr",)
LONGEST_SIDE = 1540
SAMPLING = {"temperature": 0.2, "top_p": 0.9}


def finish_generation(pieces: list[str], probs: list[float], hit_max_tokens: bool) -> Recognition:
    """Token pieces and probabilities of one page to a Recognition: repetition guard, text,
    blocks with confidences, tables, page score and flags. The pieces join to the page's
    Markdown exactly (pipeline.engines.decoding), so blocks find their own tokens."""
    raw = "".join(pieces)
    flags: list[str] = []
    trimmed, looped = cut_repetition(raw, ragged_end=hit_max_tokens)
    if looped:
        flags.append("repetition")
        keep, length = 0, 0
        while keep < len(pieces) and length + len(pieces[keep]) <= len(trimmed):
            length += len(pieces[keep])
            keep += 1
        pieces, probs, raw = pieces[:keep], probs[:keep], "".join(pieces[:keep])
    if hit_max_tokens:
        flags.append("max_new_tokens")
    tokens = [Token(text=p, confidence=float(c)) for p, c in zip(pieces, probs)]
    blocks, tables = blocks_with_confidence(raw, tokens)
    markdown = raw.strip()
    text = to_text(markdown)
    return Recognition(
        text=text,
        markdown=markdown,
        blocks=blocks,
        tokens=tokens,
        token_unit="subword",
        tables=tables,
        confidence=page_score(tokens, words=text.split()),
        flags=flags,
    )


class LightOnOCREngine:
    name: ClassVar[str] = "lightonocr"

    def __init__(self, model, processor, cfg: EngineConfig, placement):
        self.model = model
        self.processor = processor
        self.cfg = cfg
        self.placement = placement
        processor.tokenizer.padding_side = "left"  # decoder-only batches pad on the left
        self.reader = GenerationReader(processor.tokenizer, model.generation_config, cfg.max_new_tokens)
        self.prompt = processor.apply_chat_template(
            [{"role": "user", "content": [{"type": "image"}]}], add_generation_prompt=True, tokenize=False
        )

    @classmethod
    def preflight(cls, cfg: EngineConfig) -> None:
        check_model_source(cfg.model, cls.name, MODEL_TYPES)

    @classmethod
    def load(cls, cfg: EngineConfig, device: str = "cpu") -> "LightOnOCREngine":
        from transformers import AutoProcessor, LightOnOcrForConditionalGeneration

        cls.preflight(cfg)
        placement = choose_placement(device, None, cfg.dtype)
        model, processor = load_pretrained(LightOnOcrForConditionalGeneration, AutoProcessor, cfg, placement, "LightOnOCR")
        return cls(model, processor, cfg, placement)

    @staticmethod
    def render_spec(cfg: EngineConfig) -> RenderSpec:
        return RenderSpec(mode="RGB", max_side=LONGEST_SIDE)

    @staticmethod
    def pages_per_call(cfg: EngineConfig) -> int:
        return max(1, cfg.batch_size)

    @staticmethod
    def uses_gpu(cfg: EngineConfig) -> bool:
        return True

    @staticmethod
    def page_timeout(cfg: EngineConfig, on_gpu: bool) -> float:
        return 300.0 if on_gpu else 1800.0  # a whole page of tokens from a 1B model

    @property
    def model_id(self) -> str:
        return str(self.cfg.model)

    def generate(self, images: list[Image.Image]):
        """The model's own generate on a batch of page images; returns (output, prompt length)."""
        import torch

        inputs = self.processor(text=[self.prompt] * len(images), images=images, return_tensors="pt", padding=True)
        inputs = {k: (v.to(self.placement.device) if hasattr(v, "to") else v) for k, v in inputs.items()}
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.placement.dtype)
        kwargs = dict(SAMPLING, do_sample=True) if self.cfg.sampling else {"do_sample": False}
        with torch.inference_mode():
            output = self.model.generate(
                **inputs,
                max_new_tokens=self.cfg.max_new_tokens,
                output_scores=True,
                output_logits=True,
                return_dict_in_generate=True,
                **kwargs,
            )
        return output, inputs["input_ids"].shape[1]

    def _model_image(self, pixels) -> Image.Image:
        """RGB page; a very long strip is padded with white so its short side keeps at least
        two merged patches after the processor scales the long side down (else the vision
        tower cannot merge patches)."""
        image = Image.fromarray(pixels).convert("RGB")
        longest = self.processor.image_processor.size.get("longest_edge", LONGEST_SIDE)
        minimum = 2 * self.processor.effective_patch_size
        w, h = image.size
        scale = min(1.0, longest / max(w, h))
        if min(w, h) * scale < minimum:
            side = int(minimum / scale) + 1
            canvas = Image.new("RGB", (max(w, side), max(h, side)), "white")
            canvas.paste(image, (0, 0))
            image = canvas
        return image

    def recognize(self, pages: list[PageImage]) -> list[Recognition]:
        images = [self._model_image(p.pixels) for p in pages]
        output, prompt_len = self.generate(images)
        import torch

        with torch.inference_mode():
            probs = token_probabilities(self.model, output, num_beams=1).cpu().numpy()
        generated = output.sequences[:, prompt_len:].cpu().numpy()
        results = []
        for j in range(len(pages)):
            page = self.reader.read(generated[j].tolist(), probs[j].tolist())
            results.append(finish_generation([t.text for t in page.tokens], [t.confidence for t in page.tokens],
                                             page.hit_max_tokens))
        return results
