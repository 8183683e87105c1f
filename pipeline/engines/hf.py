"""What the transformers engines share: checking a model source, device and dtype choice,
and token probabilities from generation scores."""

from __future__ import annotations

import os
from dataclasses import dataclass

from pipeline.engines.base import EngineLoadError


def check_model_source(model: str | None, engine: str, expected_types: tuple[str, ...]) -> None:
    """Fail before any page is read when the model cannot be loaded: missing flag, missing
    folder, no safetensors weights, a hub id that cannot be reached, or the wrong architecture."""
    if not model:
        raise EngineLoadError(f"--engine {engine} needs --model (a hub id or a local checkpoint folder)")
    from transformers import AutoConfig

    if os.path.isdir(model):
        names = os.listdir(model)
        if "config.json" not in names:
            raise EngineLoadError(f"model folder {model} has no config.json: not a transformers checkpoint")
        if not any(n.endswith(".safetensors") or n.endswith(".safetensors.index.json") for n in names):
            raise EngineLoadError(f"model folder {model} has no .safetensors weights (pickled weights are not loaded)")
    elif model.startswith(("/", ".", "~")):
        raise EngineLoadError(f"model folder {model} does not exist")
    try:
        config = AutoConfig.from_pretrained(model, trust_remote_code=False)
    except Exception as exc:
        raise EngineLoadError(f"cannot load model {model!r}: {exc}") from exc
    if config.model_type not in expected_types:
        raise EngineLoadError(
            f"model {model!r} is a {config.model_type!r} checkpoint; --engine {engine} needs one of {', '.join(expected_types)}"
        )


@dataclass(frozen=True)
class Placement:
    device: str
    dtype: "object"  # torch.dtype


def choose_placement(device: str, quantize: str | None = None, dtype: str | None = None) -> Placement:
    """bf16 on GPUs that have it (else fp16), bf16 on CPUs with AVX512-BF16 or AMX, else fp32.

    int8 dynamic quantization is CPU-only and works on fp32 weights. `dtype` forces a choice.
    """
    import torch

    if dtype:
        return Placement(device if not quantize else "cpu", getattr(torch, dtype))
    if device.startswith("cuda"):
        return Placement(device, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    if quantize == "int8":
        return Placement("cpu", torch.float32)
    cpu_bf16 = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return Placement("cpu", torch.bfloat16 if cpu_bf16 else torch.float32)


def load_pretrained(model_class, processor_class, cfg, placement: Placement, label: str):
    """(model, processor) from a hub id or folder: safetensors only, no remote code, eval mode,
    on the placement's device; one EngineLoadError with the reason if anything fails."""
    try:
        processor = processor_class.from_pretrained(cfg.model)
        model = model_class.from_pretrained(cfg.model, use_safetensors=True, dtype=placement.dtype)
    except Exception as exc:
        raise EngineLoadError(f"cannot load {label} model {cfg.model!r}: {exc}") from exc
    model.eval()
    if placement.device == "cpu":
        from pipeline.run.devices import actor_cpu_threads, set_torch_threads

        set_torch_threads(actor_cpu_threads())
        if cfg.quantize == "int8":
            model = quantize_int8(model)
    return model.to(placement.device), processor


def decoder_positions(model) -> int | None:
    """Positions a seq2seq model's decoder has (learned position tables end there), or None."""
    decoder = getattr(model.config, "decoder", None)
    positions = getattr(decoder, "max_position_embeddings", None) if decoder is not None else None
    return int(positions) if positions else None


def generation_budget(model, wanted: int) -> int:
    """New tokens a generate call may ask for: what was wanted, but never past the decoder's
    last position (the start token takes one): a small checkpoint is read to its length
    instead of failing every line with an index error."""
    positions = decoder_positions(model)
    return max(1, min(wanted, positions - 1)) if positions else wanted


def quantize_int8(model):
    import torch

    return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def token_probabilities(model, output, num_beams: int):
    """Per generated token, the probability the model gave it: exp of the transition scores
    (log-softmax normalised), as transformers' compute_transition_scores defines them.

    Computed on the raw logits (`output_logits=True`) when present, so a checkpoint's logits
    processors (no_repeat_ngram_size, temperature, top-p) do not distort the confidence.
    """
    import torch

    steps = output.logits if getattr(output, "logits", None) is not None else output.scores
    scores = model.compute_transition_scores(
        output.sequences,
        tuple(step.float() for step in steps),  # normalise in fp32, whatever the model dtype
        output.beam_indices if num_beams > 1 else None,
        normalize_logits=True,
    )
    return torch.exp(scores.float())
