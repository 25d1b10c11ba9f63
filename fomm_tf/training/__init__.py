"""Training objective of FOMM: perceptual VGG19 pyramid, LSGAN with feature
matching, and equivariance losses under random affine + TPS warps.

    vgg = build_vgg19("vgg19-dcbb9e9d.pth")
    pyramid = ImagePyramid(train_params.scales, num_channels)
    losses, generated = generator_losses(kp_detector, generator, discriminator,
                                         vgg, pyramid, train_params, source, driving)
    disc = discriminator_losses(discriminator, pyramid, train_params, driving,
                                generated)

Running a training (what ``python -m fomm_tf.train`` does)::

    train(TrainOptions(config="configs/vox-256.yaml", log_dir="runs/vox",
                       vgg_weights="vgg19-dcbb9e9d.pth"))

``FommTrainer`` is the Keras model whose ``fit`` trains the three networks
(``build_trainer`` compiles one with ``make_optimizers``); ``make_strategy``
picks the distribution strategy.
"""

from fomm_tf.layers import ImagePyramid
from fomm_tf.training.objectives import discriminator_losses, generator_losses
from fomm_tf.training.session import (
    VGG_RECIPE,
    TrainOptions,
    build_trainer,
    make_strategy,
    train,
)
from fomm_tf.training.trainer import FommTrainer, make_optimizers
from fomm_tf.training.transform import Transform
from fomm_tf.training.vgg19 import (
    Vgg19Features,
    build_vgg19,
    numpy_recipe_weights,
    vgg19_state_dict,
)

__all__ = [
    "VGG_RECIPE",
    "FommTrainer",
    "ImagePyramid",
    "TrainOptions",
    "Transform",
    "Vgg19Features",
    "build_trainer",
    "build_vgg19",
    "discriminator_losses",
    "generator_losses",
    "make_optimizers",
    "make_strategy",
    "numpy_recipe_weights",
    "train",
    "vgg19_state_dict",
]
