"""The artifact expert's input residuals on known arrays, and the network built from several."""

from __future__ import annotations

import pytest
import torch

from sentry_image.models import build_model
from sentry_image.models.npr import box2_residual, highpass_residual, npr_residual

RAMP = torch.arange(16.0).reshape(1, 1, 4, 4)  # rows 0-3, 4-7, 8-11, 12-15


def test_nearest2_residual_is_the_offset_from_each_blocks_top_left_pixel() -> None:
    want = torch.tensor([[0.0, 1, 0, 1], [4, 5, 4, 5], [0, 1, 0, 1], [4, 5, 4, 5]])
    assert torch.equal(npr_residual(RAMP)[0, 0], want)


def test_box2_residual_is_the_offset_from_each_blocks_mean() -> None:
    want = torch.tensor([[-2.5, -1.5, -2.5, -1.5], [1.5, 2.5, 1.5, 2.5]] * 2)
    assert torch.equal(box2_residual(RAMP)[0, 0], want)


def test_highpass_residual_is_zero_inside_a_linear_ramp() -> None:
    out = highpass_residual(RAMP)[0, 0]
    assert torch.allclose(out[1:3, 1:3], torch.zeros(2, 2))
    assert out[0, 0] == pytest.approx(-5 / 3)  # replicated edges


def test_an_upsampled_image_has_zero_nearest2_residual_and_odd_sizes_are_cropped() -> None:
    small = torch.rand(1, 3, 5, 6)
    up = small.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    up = torch.cat([up, torch.rand(1, 3, 1, 12)], dim=2)  # 11 x 12: the odd row is dropped
    for fn in (npr_residual, box2_residual):
        res = fn(up)
        assert res.shape[-2:] == (10, 12) and torch.allclose(res, torch.zeros_like(res))


def test_npr_net_stacks_residuals_as_channels() -> None:
    net = build_model("npr", {"width": 8, "blocks": [1, 1], "residuals": ["nearest2", "box2", "highpass"]})
    assert net.stem[0].in_channels == 9
    assert net(torch.rand(2, 3, 32, 32)).shape == (2,)
    with pytest.raises(ValueError, match="unknown residuals"):
        build_model("npr", {"residuals": ["sobel"]})
