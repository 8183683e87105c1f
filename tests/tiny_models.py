"""Tiny models built from the real transformers config classes with random weights, saved with
save_pretrained, so the engines load them through exactly the path a hub id takes."""

from __future__ import annotations

from pathlib import Path

CHARS = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:'-!?()")


def _tokenizer(extra_special: dict[str, str] | None = None, chat_template: str | None = None):
    """A small byte-level BPE tokenizer trained here, wrapped as PreTrainedTokenizerFast."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>", "<unk>"] + list((extra_special or {}).values())
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = ["the committee met on the third of March", "records were catalogued", "Le conseil municipal", "Die Versammlung"] * 5
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=300, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    kwargs = dict(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    if extra_special:
        kwargs["extra_special_tokens"] = extra_special
    fast = PreTrainedTokenizerFast(**kwargs)
    if chat_template:
        fast.chat_template = chat_template
    return fast


def _teach(model, tokenizer, inputs: dict, text: str, steps: int) -> None:
    """A few optimiser steps so the tiny model writes `text` and then stops: a model that
    never emits EOS cannot exercise stopping, confidence routing or line assembly."""
    import torch

    labels = torch.tensor([tokenizer(text, add_special_tokens=False).input_ids + [tokenizer.eos_token_id]])
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    batch_size = next(iter(inputs.values())).shape[0]
    model.train()
    loss = None
    for _ in range(steps):
        loss = model(**inputs, labels=labels.expand(batch_size, -1)).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    assert loss is not None and loss.item() < 0.05, f"tiny model did not learn its text (loss {loss.item():.3f})"


def _teaching_images(n: int = 12, page: bool = False):
    """Line-like (or, with `page`, page-like) pictures: dark text on white, noise: what the
    model will be shown."""
    import random

    from PIL import Image, ImageDraw

    rng = random.Random(0)
    images = []
    for i in range(n):
        width = rng.randint(120, 600) if not page else rng.randint(112, 320)
        height = 32 if not page else rng.randint(112, 320)
        image = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(image)
        if i % 3 == 0:
            image = Image.effect_noise((width, height), 64).convert("RGB")
        else:
            draw.text((4, 8), "".join(rng.choice(CHARS) for _ in range(width // 7)), fill="black")
        images.append(image)
    return images


def build_tiny_trocr(folder: Path, image_size: int = 32, teach: str | None = "the committee") -> Path:
    """A 2-layer, 32-wide ViT encoder and 2-layer TrOCR decoder, with its processor.

    With `teach`, a few training steps on random images make it write that text and stop."""
    import torch
    from transformers import TrOCRConfig, TrOCRProcessor, ViTConfig
    from transformers.models.vit import ViTImageProcessorPil

    from pipeline.recognizer.architecture import assemble

    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same numbers whatever the machine's thread settings
    tokenizer = _tokenizer()
    encoder = ViTConfig(
        image_size=image_size, patch_size=8, num_channels=3, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=37,
    )
    decoder = TrOCRConfig(
        vocab_size=len(tokenizer), d_model=32, decoder_layers=2, decoder_attention_heads=2, decoder_ffn_dim=37,
        max_position_embeddings=128, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.bos_token_id,
    )
    model = assemble(encoder, decoder, tokenizer)
    processor = TrOCRProcessor(
        image_processor=ViTImageProcessorPil(size={"height": image_size, "width": image_size}), tokenizer=tokenizer
    )
    if teach:
        pixel_values = processor(images=_teaching_images(), return_tensors="pt").pixel_values
        _teach(model, tokenizer, {"pixel_values": pixel_values}, teach, steps=250)
    torch.set_num_threads(threads)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    processor.save_pretrained(folder)
    return folder


LIGHTON_SPECIALS = {
    "image_token": "<|image_pad|>",
    "image_break_token": "<|vision_pad|>",
    "image_end_token": "<|vision_end|>",
}
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<|image_pad|>{% else %}{{ part['text'] }}{% endif %}{% endfor %}"
    "{% endif %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tiny_lightonocr(folder: Path, teach: str | None = "# Minutes\n\nthe committee met") -> Path:
    """A 2-layer, 32-wide Pixtral at 112 px and a 2-layer Qwen3, with tokenizer, chat template
    and PixtralImageProcessorPil, as transformers' own lighton_ocr tests build it."""
    import torch
    from transformers import LightOnOcrConfig, LightOnOcrForConditionalGeneration, LightOnOcrProcessor
    from transformers.models.pixtral import PixtralImageProcessorPil

    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    tokenizer = _tokenizer(extra_special={**LIGHTON_SPECIALS, "im_start": "<|im_start|>", "im_end": "<|im_end|>"}, chat_template=CHAT_TEMPLATE)
    tokenizer.padding_side = "left"
    config = LightOnOcrConfig(
        text_config={
            "model_type": "qwen3", "vocab_size": len(tokenizer), "hidden_size": 32, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 37, "head_dim": 8,
            "max_position_embeddings": 512, "pad_token_id": tokenizer.pad_token_id, "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id, "tie_word_embeddings": False,
        },
        vision_config={
            "image_size": 112, "patch_size": 14, "num_channels": 3, "hidden_size": 32, "num_hidden_layers": 2,
            "num_attention_heads": 4, "intermediate_size": 37, "head_dim": 8,
        },
        image_token_id=tokenizer.image_token_id,
        spatial_merge_size=2,
    )
    model = LightOnOcrForConditionalGeneration(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    processor = LightOnOcrProcessor(
        image_processor=PixtralImageProcessorPil(size={"longest_edge": 112}, patch_size={"height": 14, "width": 14}),
        tokenizer=tokenizer, patch_size=14, spatial_merge_size=2, chat_template=CHAT_TEMPLATE,
    )
    if teach:
        prompt = processor.apply_chat_template([{"role": "user", "content": [{"type": "image"}]}], add_generation_prompt=True, tokenize=False)
        images = _teaching_images(8, page=True)
        target = tokenizer(teach, add_special_tokens=False).input_ids + [tokenizer.eos_token_id]
        inputs = processor(text=[prompt + teach + tokenizer.eos_token] * len(images), images=images, return_tensors="pt", padding=True)
        labels = inputs["input_ids"].clone()
        labels[:, : labels.shape[1] - len(target)] = -100  # learn only the answer
        optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
        model.train()
        for _ in range(200):
            loss = model(**inputs, labels=labels).loss
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        model.eval()
        assert loss.item() < 0.05, f"tiny model did not learn its text (loss {loss.item():.3f})"
    torch.set_num_threads(threads)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    processor.save_pretrained(folder)
    return folder
