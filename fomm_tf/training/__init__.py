"""Training objective of FOMM: perceptual VGG19 pyramid, LSGAN with feature
matching, and equivariance losses under random affine + TPS warps.

    vgg = build_vgg19("vgg19-dcbb9e9d.pth")
    pyramid = ImagePyramid(train_params.scales, num_channels)
    losses, generated = generator_losses(kp_detector, generator, discriminator,
                                         vgg, pyramid, train_params, source, driving)
    disc = discriminator_losses(discriminator, pyramid, train_params, driving,
                                generated)
"""

from fomm_tf.training.image_pyramid import ImagePyramid
from fomm_tf.training.objectives import discriminator_losses, generator_losses
from fomm_tf.training.transform import Transform
from fomm_tf.training.vgg19 import (
    Vgg19Features,
    build_vgg19,
    numpy_recipe_weights,
    vgg19_state_dict,
)

__all__ = [
    "ImagePyramid",
    "Transform",
    "Vgg19Features",
    "build_vgg19",
    "discriminator_losses",
    "generator_losses",
    "numpy_recipe_weights",
    "vgg19_state_dict",
]
