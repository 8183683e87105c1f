"""The line recognizer: a stock transformers VisionEncoderDecoderModel shaped for text lines.

A text line is long and low, not a 384 x 384 square: the image processor keeps the line's
aspect, scales it to LINE_HEIGHT and pads it to LINE_WIDTH, and a Swin encoder (windowed
attention, a hierarchy of patch merges: locality a small data set cannot teach a plain ViT)
turns it into an 8-row strip of feature columns, one every 8 px (a handwritten character at
64 px is 12 to 30 px wide: CTC needs more columns than characters), for a small TrOCR decoder
writing characters.
Everything is a stock class, so `VisionEncoderDecoderModel.from_pretrained` and
`AutoProcessor.from_pretrained` load a trained folder with no code of this project.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.engines.hf import generation_budget

LINE_HEIGHT = 64
LINE_WIDTH = 1024


@dataclass(frozen=True)
class Preset:
    embed_dim: int
    depths: tuple[int, ...]
    heads: tuple[int, ...]
    d_model: int
    decoder_layers: int
    decoder_heads: int
    decoder_ffn: int
    max_positions: int = 160  # characters of the longest line the decoder can write, + BOS/EOS
    height: int = LINE_HEIGHT
    width: int = LINE_WIDTH


PRESETS = {
    # sized for a CPU: about 4 M parameters, 16 MB in fp32; two stages keep a column every 8 px
    "small": Preset(embed_dim=48, depths=(2, 3), heads=(3, 6), d_model=256, decoder_layers=3, decoder_heads=4, decoder_ffn=1024),
    # for tests: trains in seconds
    "tiny": Preset(embed_dim=8, depths=(1, 1), heads=(1, 2), d_model=32, decoder_layers=1, decoder_heads=2, decoder_ffn=64,
                   max_positions=64, height=32, width=256),
}


def build_processor(preset: Preset, tokenizer):
    """TrOCRProcessor = DonutImageProcessor (aspect kept, scaled into the strip, padded) + tokenizer."""
    from transformers import TrOCRProcessor
    from transformers.models.donut import DonutImageProcessorPil

    image_processor = DonutImageProcessorPil(
        size={"height": preset.height, "width": preset.width},
        do_align_long_axis=False, do_thumbnail=True, do_pad=True, do_resize=True,
        image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5],
    )
    return TrOCRProcessor(image_processor=image_processor, tokenizer=tokenizer)


def build_model(preset: Preset, tokenizer):
    """A randomly initialised model for `tokenizer`'s characters."""
    from transformers import SwinConfig, TrOCRConfig

    encoder = SwinConfig(
        image_size=(preset.height, preset.width), patch_size=4, num_channels=3, embed_dim=preset.embed_dim,
        depths=list(preset.depths), num_heads=list(preset.heads), window_size=4, mlp_ratio=3.0,
        # windows carry only relative positions; the decoder's cross-attention must know where
        # along the line a feature is to read left to right
        use_absolute_embeddings=True,
    )
    decoder = TrOCRConfig(
        vocab_size=len(tokenizer), d_model=preset.d_model, decoder_layers=preset.decoder_layers,
        decoder_attention_heads=preset.decoder_heads, decoder_ffn_dim=preset.decoder_ffn,
        max_position_embeddings=preset.max_positions, use_learned_position_embeddings=True,
        layernorm_embedding=True, scale_embedding=True, dropout=0.1, attention_dropout=0.0,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.bos_token_id,
    )
    return assemble(encoder, decoder, tokenizer)


def assemble(encoder_config, decoder_config, tokenizer):
    """A randomly initialised VisionEncoderDecoderModel whose special tokens are the tokenizer's."""
    from transformers import VisionEncoderDecoderConfig, VisionEncoderDecoderModel

    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder_config, decoder_config)
    config.decoder_start_token_id = tokenizer.bos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    config.eos_token_id = tokenizer.eos_token_id
    model = VisionEncoderDecoderModel(config=config)
    set_generation_defaults(model, tokenizer)
    return model


def set_generation_defaults(model, tokenizer) -> None:
    gen = model.generation_config
    gen.decoder_start_token_id = tokenizer.bos_token_id
    gen.bos_token_id = tokenizer.bos_token_id
    gen.pad_token_id = tokenizer.pad_token_id
    gen.eos_token_id = tokenizer.eos_token_id
    gen.max_new_tokens = generation_budget(model, 1 << 30)
    gen.num_beams = 1


def encoder_grid(model) -> tuple[int, int]:
    """(rows, columns) of the encoder's output for one line."""
    enc = model.config.encoder
    height, width = enc.image_size if isinstance(enc.image_size, (list, tuple)) else (enc.image_size, enc.image_size)
    factor = enc.patch_size * 2 ** (len(enc.depths) - 1)
    return height // factor, width // factor
