"""Few-step sampling with classifier-free guidance on the conditioning image.

Each line has its own noise generator seeded by its seed, and lines are batched only with
lines of the same width, so a line's pixels depend on (model, text, style, seed, sampler
settings) alone, not on what else was in the batch.
"""

from __future__ import annotations

import torch
from diffusers import UNet2DModel


@torch.no_grad()
def sample_lines(unet: UNet2DModel, scheduler, cond: torch.Tensor, styles: torch.Tensor, seeds: list[int],
                 steps: int, guidance_scale: float) -> torch.Tensor:
    """Denoise from seeded noise to lines in [-1, 1] (ink = +1), shape like `cond`.

    guidance_scale 1 is the plain conditional model; above 1 pushes each step away from what
    the model draws with a blank conditioning image, which sharpens the letters.
    """
    device, dtype = cond.device, next(unet.parameters()).dtype
    noise = torch.stack([torch.randn(cond.shape[1:], generator=torch.Generator().manual_seed(int(s))) for s in seeds])
    x = noise.to(device=device, dtype=torch.float32) * scheduler.init_noise_sigma
    scheduler.set_timesteps(steps, device=device)
    guided = guidance_scale != 1.0
    cond_in = torch.cat([cond, torch.full_like(cond, -1.0)]) if guided else cond
    labels = torch.cat([styles, styles]) if guided else styles
    for t in scheduler.timesteps:
        model_in = scheduler.scale_model_input(x, t)
        model_in = torch.cat([model_in, model_in]) if guided else model_in
        out = unet(torch.cat([model_in, cond_in], dim=1).to(dtype), t, class_labels=labels).sample.float()
        if guided:
            conditional, blank = out.chunk(2)
            out = blank + guidance_scale * (conditional - blank)
        x = scheduler.step(out, t, x).prev_sample
    return x.clamp(-1.0, 1.0)
