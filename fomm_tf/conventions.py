"""Every numerical convention of the official FOMM code, pinned in one place.

Tests in ``tests/test_conventions.py`` check each value against the behaviour it
names, so a change here is a deliberate, reviewed decision.
"""

# Coordinate grids put -1 and +1 on the first and last pixel centres
# (official ``make_coordinate_grid``), keypoints and flows are (x, y) ordered.
GRID_RANGE = (-1.0, 1.0)

# ``grid_sample`` convention of the released checkpoints: they were trained on
# torch 1.0, whose grid_sample behaved as align_corners=True.  The official code
# on torch >= 1.3 samples with align_corners=False (its default).
DEFAULT_ALIGN_CORNERS = True

# PyTorch BatchNorm2d: eps 1e-5, momentum 0.1 (new = 0.9 * old + 0.1 * batch),
# which is momentum 0.9 in Keras terms.
BATCH_NORM_EPSILON = 1e-5
BATCH_NORM_MOMENTUM = 0.9

# PyTorch InstanceNorm2d default eps, used by the discriminator.
INSTANCE_NORM_EPSILON = 1e-5

# ``nn.utils.spectral_norm`` normalisation eps.
SPECTRAL_NORM_EPSILON = 1e-12

# Discriminator LeakyReLU slope (official ``F.leaky_relu(out, 0.2)``).
LEAKY_RELU_SLOPE = 0.2

# Gaussian keypoint heatmaps: exp(-0.5 * |z - kp|^2 / kp_variance), official
# default kp_variance.
KP_VARIANCE = 0.01

# VGG19 input normalisation of the official ``Vgg19`` (torchvision ImageNet).
VGG_MEAN = (0.485, 0.456, 0.406)
VGG_STD = (0.229, 0.224, 0.225)


def anti_alias_sigma(scale):
    """Gaussian sigma of ``AntiAliasInterpolation2d``: (1 / scale - 1) / 2."""
    return (1.0 / scale - 1.0) / 2.0


def anti_alias_kernel_size(scale):
    """Odd kernel size ``2 * round(sigma * 4) + 1`` (13 at scale 0.25)."""
    return 2 * round(anti_alias_sigma(scale) * 4) + 1
