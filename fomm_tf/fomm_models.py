"""The three FOMM networks built from one config, saved together as one file."""

import contextlib
import dataclasses
import json
import math
import shutil
import tempfile
import zipfile
from pathlib import Path

import keras
import numpy as np

from fomm_tf import config as config_lib
from fomm_tf import output_paths
from fomm_tf.errors import CheckpointError, one_line
from fomm_tf.models import (
    KeypointDetector,
    MultiScaleDiscriminator,
    OcclusionAwareGenerator,
)

ALIGN = ("align_corners",)
MAX_CONFIG_BYTES = 1 << 20
WEIGHTS_ENTRY = "model.weights.h5"  # where Keras 3 saving stores the weights


def _keywords(*params, drop=()):
    """Constructor keywords from config dataclasses, merged as the official code
    passes ``**common_params, **<network>_params`` (nested sections as dicts)."""
    merged = {}
    for section in params:
        merged.update(dataclasses.asdict(section))
    for name in drop:
        del merged[name]
    return merged


def build_kp_detector(cfg, synchronized_bn=False):
    """``KPDetector(**kp_detector_params, **common_params)`` of the official code
    (``align_corners`` is for the warps, which the detector has none of)."""
    model = cfg.model_params
    return KeypointDetector(
        **_keywords(model.common_params, model.kp_detector_params, drop=ALIGN),
        synchronized_bn=synchronized_bn,
        name="kp_detector",
    )


def build_generator(cfg, synchronized_bn=False):
    """``OcclusionAwareGenerator(**generator_params, **common_params)``."""
    model = cfg.model_params
    return OcclusionAwareGenerator(
        **_keywords(model.common_params, model.generator_params),
        synchronized_bn=synchronized_bn,
        name="generator",
    )


def build_discriminator(cfg):
    """``MultiScaleDiscriminator(**discriminator_params, **common_params)`` (the
    discriminator takes no jacobians and does no warp)."""
    model = cfg.model_params
    keywords = _keywords(
        model.common_params,
        model.discriminator_params,
        drop=("estimate_jacobian", *ALIGN),
    )
    return MultiScaleDiscriminator(**keywords, name="discriminator")


@keras.saving.register_keras_serializable(package="fomm_tf")
class FommModels(keras.Model):
    """``kp_detector``, ``generator`` and ``discriminator`` plus their ``config``.

    Saved with ``save(path.keras)`` it is one file that loads without torch or
    the original checkpoint (``fomm_tf.load_checkpoint`` reads it back).
    """

    def __init__(self, config, synchronized_bn=False, **kwargs):
        kwargs.setdefault("name", "fomm")
        super().__init__(**kwargs)
        if isinstance(config, dict):
            config = config_lib.config_from_dict(config, source="<saved model>")
        self.config = config
        self.synchronized_bn = synchronized_bn
        self.kp_detector = build_kp_detector(config, synchronized_bn)
        self.generator = build_generator(config, synchronized_bn)
        self.discriminator = build_discriminator(config)

    def build(self, input_shape=None):
        shape = (None, *self.config.dataset_params.frame_shape)
        for model in (self.kp_detector, self.generator, self.discriminator):
            if not model.built:
                model.build(shape)
        self.built = True

    def get_build_config(self):
        return {"frame_shape": list(self.config.dataset_params.frame_shape)}

    def build_from_config(self, config):
        self.build()

    def get_config(self):
        return {
            "config": config_lib.config_to_dict(self.config),
            "synchronized_bn": self.synchronized_bn,
            "name": self.name,
        }


def declared_models(cfg, synchronized_bn=False):
    """Models for a ``FommConfig`` whose variables have shapes but no memory yet
    (``allocate`` gives them their initial values)."""
    with keras.StatelessScope(initialize_variables=False):
        models = FommModels(cfg, synchronized_bn=synchronized_bn)
        models.build()
    return models


def allocate(models):
    """Initialises the variables ``declared_models`` left without values."""
    del models  # Keras keeps the pending variables in one process-wide list:
    with keras.StatelessScope():
        pass  # leaving an outermost stateless scope initialises all of them.


def weight_bytes(models):
    """Bytes the variables of ``models`` take once allocated."""
    return sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize for v in models.weights)


def build_models(cfg, synchronized_bn=False):
    """Built (randomly initialised) models for a ``FommConfig``."""
    models = declared_models(cfg, synchronized_bn)
    allocate(models)
    return models


def _copies_anchor():
    """Weight copies are ``.fomm-tf.weights-<pid>-*`` folders in the temp dir."""
    return Path(tempfile.gettempdir()) / "fomm-tf"


@contextlib.contextmanager
def extracted_weights(path, needed_bytes):
    """The ``model.weights.h5`` of a ``.keras`` file, copied to a temporary file.

    h5py reads a zip member through Python's zipfile, whose backward seeks
    re-read the member from its start (9.6 s for vox-256's 250 MB; 0.7 s from a
    plain file). ``CheckpointError`` before anything is allocated if the member
    is smaller than the ``needed_bytes`` the config's variables take, or stored
    more than 4x compressed (a crafted file would make the model allocate
    gigabytes before its weights fail to load). The copy is private (0700
    folder) and removed afterwards; copies left by killed runs are removed
    first (``fomm_tf.output_paths``: only those whose process has ended).
    """
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(WEIGHTS_ENTRY)
        if info.file_size < needed_bytes or 4 * info.compress_size < needed_bytes:
            raise CheckpointError(
                f"{path}: {WEIGHTS_ENTRY} holds {info.compress_size} bytes "
                f"({info.file_size} uncompressed), too few for the "
                f"{needed_bytes} bytes of weights its config declares"
            )
        anchor = _copies_anchor()
        output_paths.remove_stale(anchor, "weights")
        folder = tempfile.mkdtemp(
            prefix=output_paths.temp_prefix(anchor, "weights"), dir=anchor.parent
        )
        try:
            extracted = Path(folder) / WEIGHTS_ENTRY
            with archive.open(info) as member, open(extracted, "wb") as out:
                shutil.copyfileobj(member, out, 1 << 20)
            yield extracted
        finally:
            output_paths.remove_path(folder)


def read_saved_config(path):
    """The ``FommConfig`` stored inside a ``.keras`` file written by ``save``.

    ``CheckpointError`` if the file holds no such config (not a zip, no or an
    oversized ``config.json``, not the layout ``save`` writes) or no weights;
    ``ConfigError``
    if the stored config is invalid (out of range: see ``fomm_tf.config``).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise CheckpointError(
                    f"{path}: config.json holds {info.file_size} bytes, more than "
                    f"{MAX_CONFIG_BYTES}"
                )
            saved = json.loads(archive.read(info))
            has_weights = WEIGHTS_ENTRY in archive.namelist()
        stored = saved["config"]["config"]
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, KeyError, TypeError, ValueError, RecursionError) as e:
        raise CheckpointError(
            f"{path}: not a fomm_tf .keras file ({one_line(e)[:200]})"
        ) from None
    config = config_lib.config_from_dict(stored, source=f"{path} (stored config)")
    if not has_weights:
        # Checked before any model is built: a config at the bounds with no
        # weights would otherwise allocate its whole model first.
        raise CheckpointError(f"{path}: no {WEIGHTS_ENTRY} inside (the weights)")
    return config
