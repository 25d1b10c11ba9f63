"""The three switches of ``normalize_kp``, without TensorFlow.

They have one order, ``FLAG_NAMES``. As keywords they are Python bools
(``demo_normalization``, a config's ``normalization_params``); as a graph input
they are a float vector ``(3,)`` of 0/1 values in that order (the exported
``normalization_flags``, the Keras animator's input), so one graph serves every
setting. Numpy only, so the LiteRT command path never imports TensorFlow.
"""

import numpy as np

FLAG_NAMES = ("use_relative_movement", "use_relative_jacobian", "adapt_movement_scale")


def demo_normalization(relative, adapt_scale):
    """``normalize_kp`` keywords of the official demo: the jacobian follows
    ``relative``."""
    return dict(
        use_relative_movement=relative,
        use_relative_jacobian=relative,
        adapt_movement_scale=adapt_scale,
    )


def keywords(normalization_params):
    """``normalize_kp`` keywords of a config's ``NormalizationParams``."""
    return {name: bool(getattr(normalization_params, name)) for name in FLAG_NAMES}


def flags_from_keywords(normalization):
    """The flags vector (3,) float32 of ``normalize_kp`` keywords."""
    return np.asarray([float(normalization[name]) for name in FLAG_NAMES], np.float32)


def keywords_from_flags(flags):
    """``normalize_kp`` keywords of a flags vector (3,)."""
    return {
        name: bool(flag > 0.5) for name, flag in zip(FLAG_NAMES, flags, strict=True)
    }
