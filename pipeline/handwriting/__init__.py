"""Synthetic handwriting side stage: a small diffusion model that writes given text.

fonts -> render (training pairs and conditioning images) -> model/sampling (diffusers UNet +
scheduler) -> train (recipe, checkpoints) and generate (batches of lines for Ray).
"""
