"""VGG19 features of the perceptual loss (official ``modules/model.py``, ``Vgg19``).

Three weight sources, all turned into torchvision's state-dict layout
(``features.{idx}.weight`` OIHW, ``features.{idx}.bias``) before assignment:

* torchvision's ``vgg19-dcbb9e9d.pth`` (what the official training uses, read
  here without torch): exact parity with the official perceptual loss;
* Keras's ``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`` (the file
  ``keras.applications.VGG19`` downloads): the original Caffe VGG19, trained on
  BGR images in 0..255 minus the Caffe channel means.  The first conv is rewritten
  so that it reads our RGB input normalised by ImageNet mean/std instead (exact
  except within one pixel of the border, where the zero padding of the two input
  conventions differs by under 0.5 / 255).  These weights are a different network
  from torchvision's, so losses are comparable to, not equal to, the official ones;
* ``numpy_recipe_weights()``: the stand-in recipe of the training fixture
  (``TRAIN_README.md``), for tests.
"""

from pathlib import Path

import h5py
import keras
import numpy as np
import tensorflow as tf

from fomm_tf import conventions
from fomm_tf.errors import CheckpointError, one_line
from fomm_tf.torch_checkpoint import read_torch_checkpoint

# torchvision ``cfg['E']`` up to relu5_1: conv widths, "M" = 2x2 max-pool.
CFG_E = (
    64, 64, "M",
    128, 128, "M",
    256, 256, 256, 256, "M",
    512, 512, 512, 512, "M",
    512,
)  # fmt: skip

# ``features`` index (exclusive) where the official slice1..slice5 end, i.e. the
# relu1_1, relu2_1, relu3_1, relu4_1 and relu5_1 outputs.
SLICE_ENDS = (2, 7, 12, 21, 30)
NUM_SLICES = len(SLICE_ENDS)

# Keras applications layer names in ``features`` conv order.
KERAS_LAYER_NAMES = (
    "block1_conv1", "block1_conv2",
    "block2_conv1", "block2_conv2",
    "block3_conv1", "block3_conv2", "block3_conv3", "block3_conv4",
    "block4_conv1", "block4_conv2", "block4_conv3", "block4_conv4",
    "block5_conv1",
)  # fmt: skip

# ``keras.applications.vgg19.preprocess_input`` ("caffe"): RGB means in 0..255.
CAFFE_MEAN_RGB = (123.68, 116.779, 103.939)

ACCEPTED_FILES = (
    "torchvision's vgg19-dcbb9e9d.pth (exact official parity) or Keras's "
    "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
)


def feature_layout():
    """``features`` up to relu5_1: ``(index, in, out)`` per conv, ``index`` per pool."""
    convs, pools, index, in_channels = [], [], 0, 3
    for item in CFG_E:
        if item == "M":
            pools.append(index)
            index += 1
        else:
            convs.append((index, in_channels, item))
            in_channels = item
            index += 2  # the conv, then its ReLU
    return convs, pools


def conv_layout():
    """``(features index, in channels, out channels)`` of every conv used."""
    return feature_layout()[0]


@keras.saving.register_keras_serializable(package="fomm_tf")
class Vgg19Features(keras.Model):
    """Images (B, H, W, 3) RGB in [0, 1] -> [relu1_1, ..., relu5_1] (NHWC).

    Normalises with ImageNet mean/std inside, as the official ``Vgg19.forward``;
    3x3 convs with padding 1 and floor 2x2 max-pools as torchvision.  The weights
    are frozen (the official sets ``requires_grad=False``).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("name", "vgg19_features")
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.convs = {
            index: keras.layers.Conv2D(
                out_channels, 3, padding="same", activation="relu", name=f"conv_{index}"
            )
            for index, _, out_channels in conv_layout()
        }
        self.pools = {
            index: keras.layers.MaxPooling2D(2, name=f"pool_{index}")
            for index in feature_layout()[1]
        }
        self.mean = np.asarray(conventions.VGG_MEAN, np.float32)
        self.std = np.asarray(conventions.VGG_STD, np.float32)

    def build(self, input_shape=None):
        for index, in_channels, _ in conv_layout():
            self.convs[index].build((None, None, None, in_channels))
        self.built = True

    def call(self, images, num_slices=NUM_SLICES):
        """The first ``num_slices`` slice outputs; layers past them are skipped
        (a perceptual loss on relu1_1 and relu2_1 runs 3 of the 13 convs)."""
        mean = tf.constant(self.mean, images.dtype)
        out = (images - mean) / tf.constant(self.std, images.dtype)
        features = []
        for index in range(SLICE_ENDS[num_slices - 1]):
            if index in self.convs:
                out = self.convs[index](out)  # conv + ReLU: indices index, index+1
            elif index in self.pools:
                out = self.pools[index](out)
            if index + 1 in SLICE_ENDS:
                features.append(out)
        return features

    def set_torch_weights(self, state_dict, source="VGG19 weights"):
        """Assign a torchvision-layout state dict (extra keys are ignored)."""
        if not self.built:
            self.build()
        for index, in_channels, out_channels in conv_layout():
            weight_key, bias_key = f"features.{index}.weight", f"features.{index}.bias"
            expected = (out_channels, in_channels, 3, 3)
            if weight_key not in state_dict or bias_key not in state_dict:
                raise CheckpointError(f"{source}: missing {weight_key} / {bias_key}")
            weight = np.asarray(state_dict[weight_key], np.float32)
            if weight.shape != expected:
                raise CheckpointError(
                    f"{source}: {weight_key} has shape {weight.shape}, not {expected}"
                )
            conv = self.convs[index]
            conv.kernel.assign(np.transpose(weight, (2, 3, 1, 0)))  # OIHW -> HWIO
            conv.bias.assign(np.asarray(state_dict[bias_key], np.float32))


def numpy_recipe_weights():
    """The training fixture's stand-in VGG19 weights (TRAIN_README, numpy only).

    One ``default_rng(2024)`` drawn in layer order, weight then bias; He-scaled
    normals cast to float32 before the float32 multiply, biases N(0, 0.01^2).
    """
    rng = np.random.default_rng(2024)
    state = {}
    for index, in_channels, out_channels in conv_layout():
        shape = (out_channels, in_channels, 3, 3)
        scale = np.float32(np.sqrt(2.0 / (in_channels * 9)))
        state[f"features.{index}.weight"] = (
            rng.standard_normal(shape).astype(np.float32) * scale
        )
        state[f"features.{index}.bias"] = (
            rng.standard_normal(out_channels) * 0.01
        ).astype(np.float32)
    return state


def torchvision_state_dict(path):
    """torchvision's ``vgg19-*.pth`` read with the torch-free checkpoint reader."""
    return read_torch_checkpoint(path)


def _h5_layer_weights(file, name):
    """(kernel HWIO, bias) of one layer of a Keras applications ``.h5`` file."""
    group = file[name]
    names = [
        name.decode() if isinstance(name, bytes) else name
        for name in group.attrs["weight_names"]
    ]
    kernel, bias = (np.asarray(group[weight], np.float32) for weight in names)
    return kernel, bias


def keras_h5_state_dict(path):
    """Keras's Caffe VGG19 ``.h5``, rewritten for RGB [0, 1] mean/std input.

    Keras feeds ``x_bgr * 255 - caffe_mean``; with ``x = z * std + mean`` the first
    conv becomes ``W'[c] = W[bgr(c)] * 255 * std[c]`` and its bias gains
    ``sum W[bgr(c)] * (255 * mean[c] - caffe_mean[c])``.
    """
    try:
        with h5py.File(path, "r") as file:
            layers = [_h5_layer_weights(file, name) for name in KERAS_LAYER_NAMES]
    except (OSError, KeyError, ValueError) as error:
        raise CheckpointError(
            f"{path}: not a Keras VGG19 weights file ({one_line(error)})"
        ) from None
    kernel, bias = layers[0]
    rgb_kernel = kernel[:, :, ::-1, :]  # BGR input channels -> RGB
    mean = np.asarray(conventions.VGG_MEAN, np.float64)
    std = np.asarray(conventions.VGG_STD, np.float64)
    offset = 255.0 * mean - np.asarray(CAFFE_MEAN_RGB)
    layers[0] = (
        (rgb_kernel * (255.0 * std)[None, None, :, None]).astype(np.float32),
        (bias + np.einsum("hwio,i->o", rgb_kernel.astype(np.float64), offset)).astype(
            np.float32
        ),
    )
    state = {}
    for (index, _, _), (kernel, bias) in zip(conv_layout(), layers, strict=True):
        state[f"features.{index}.weight"] = np.transpose(kernel, (3, 2, 0, 1))
        state[f"features.{index}.bias"] = bias
    return state


def vgg19_state_dict(path):
    """torchvision-layout VGG19 weights from a ``.pth`` or Keras ``.h5`` file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"VGG19 weights not found at {path}: pass --vgg_weights PATH with "
            f"{ACCEPTED_FILES}"
        )
    if path.suffix == ".h5":
        return keras_h5_state_dict(path)
    return torchvision_state_dict(path)


def build_vgg19(weights_path):
    """A ``Vgg19Features`` with weights from ``weights_path`` (``CheckpointError``)."""
    vgg = Vgg19Features()
    vgg.set_torch_weights(vgg19_state_dict(weights_path), source=str(weights_path))
    return vgg
