"""Loss pieces shared by the stages: official weight init, landmark boxes, region crops, the soft mask, the frozen-D GAN loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..models.ops import resize

# 68-landmark ranges and padding (pixels at 512) of the official get_landmark_bbox: mouth, left eye, right eye, nose.
REGIONS = ((48, 68, 8), (36, 42, 15), (42, 48, 15), (27, 36, 8))
REFERENCE_SIZE = 512
# roi_align output sides of the official local loss (mouth, eyes) at 512.
LOCAL_CROP = (120, 80, 80)
# The official soft mask value outside the boxes: (before iteration, value), then the last value.
MASK_SCHEDULE = ((500, 0.2), (2000, 0.05))
MASK_FINAL = 0.005
# basicsr GANLoss(wgan_softplus) loss_weight inside the official GANLoss module.
GAN_INNER_WEIGHT = 0.1


def init_from_scratch(module: nn.Module, gain: float = 0.02) -> nn.Module:
    """The official 'normal' init: weights of every *Conv*/*Linear* module ~ N(0, gain); biases untouched."""
    for child in module.modules():
        name = type(child).__name__
        if ("Conv" in name or "Linear" in name) and isinstance(getattr(child, "weight", None), torch.Tensor):
            nn.init.normal_(child.weight, 0.0, gain)
    return module


def landmark_boxes(landmarks: torch.Tensor, image_size: int) -> torch.Tensor:
    """(B,68,2) landmarks in image pixels -> (B,4,4) integer boxes [x0, y0, x1, y1] (mouth, left eye, right eye, nose)."""
    scale = image_size / REFERENCE_SIZE
    boxes = []
    for start, stop, pad in REGIONS:
        points = landmarks[:, start:stop]
        low, high = points.min(1).values.floor(), points.max(1).values.floor()
        pad = round(pad * scale)
        boxes.append(torch.cat([low - pad, high + pad], dim=1))
    return torch.stack(boxes, dim=1).long()


def soft_mask(boxes: torch.Tensor, shape: torch.Size, step: int, device: torch.device) -> torch.Tensor:
    """(B,1,H,W): 1 inside any box, the scheduled small weight elsewhere (0.2, then 0.05 from 500, 0.005 from 2000)."""
    outside = next((value for until, value in MASK_SCHEDULE if step < until), MASK_FINAL)
    height, width = shape[-2:]
    ys = torch.arange(height, device=device).view(1, 1, height, 1)
    xs = torch.arange(width, device=device).view(1, 1, 1, width)
    b = boxes.to(device).view(boxes.shape[0], boxes.shape[1], 4, 1, 1)
    inside = ((xs >= b[:, :, 0]) & (xs < b[:, :, 2]) & (ys >= b[:, :, 1]) & (ys < b[:, :, 3])).any(1, keepdim=True)
    return torch.where(inside, 1.0, outside)


def crop_boxes(images: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear size x size crops of (B,C,H,W) images at (B,4) pixel boxes (roi_align with one sample per bin)."""
    batch, _, height, width = images.shape
    steps = (torch.arange(size, device=images.device, dtype=images.dtype) + 0.5) / size
    b = boxes.to(images)
    xs = b[:, 0:1] + steps * (b[:, 2:3] - b[:, 0:1])
    ys = b[:, 1:2] + steps * (b[:, 3:4] - b[:, 1:2])
    grid = torch.stack([(2 * xs + 1) / width - 1, (2 * ys + 1) / height - 1], dim=-1)
    grid = torch.stack([grid[:, None, :, 0].expand(batch, size, size), grid[:, :, None, 1].expand(batch, size, size)], dim=-1)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def local_l1(fake: torch.Tensor, real: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Sum of L1 distances over the mouth and eye crops (the paper's local loss)."""
    scale = fake.shape[-1] / REFERENCE_SIZE
    total = fake.new_zeros(())
    for region, side in enumerate(LOCAL_CROP):
        size = max(8, round(side * scale))
        total = total + F.l1_loss(crop_boxes(fake, boxes[:, region], size), crop_boxes(real, boxes[:, region], size))
    return total


def generator_gan_loss(discriminator: nn.Module, fake: torch.Tensor, size: int) -> torch.Tensor:
    """Non-saturating softplus loss of a frozen discriminator on the fake resized to its input size, times 0.1.

    The official trainer calls basicsr's wgan_softplus with target_is_real=False, i.e. softplus(D(fake)),
    which rewards fakes the discriminator rejects; the paper's adversarial term is softplus(-D(fake)).
    """
    resized = resize(fake, size)
    return GAN_INNER_WEIGHT * F.softplus(-discriminator(resized)).mean()
