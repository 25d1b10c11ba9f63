"""SavedModel for TF Serving: ``OUT/<model_name>/<version>/``, dynamic batch.

Signatures (inputs validated in the graph; a bad request fails with an
``InvalidArgumentError`` naming the input):

- ``keypoints``: ``images`` (N, H, W, 3) in [0, 1] -> ``kp_value`` (N, K, 2),
  ``kp_jacobian`` (N, K, 2, 2).
- ``animate`` (also ``serving_default``): ``source`` (1 or N, H, W, 3),
  ``driving`` (N, H, W, 3), ``kp_source_*`` and ``kp_driving_initial_*`` (1 or N,
  ...), ``normalization_flags`` (3,) of 0/1 -> ``prediction`` (N, H, W, 3).
  Driving keypoints are detected in the graph; batch-1 inputs are broadcast.

CLI::

    python -m export.saved_model --config configs/vox-256.yaml \
        --checkpoint vox.pth.tar --out serving --model_name fomm --version 1
"""

from pathlib import Path

import tensorflow as tf
from absl import flags

from export import graphs
from export.files import (
    atomic_directory,
    check_replaceable,
    check_writable_parent,
    recover,
)
from export.loading import define_model_flags, load_models
from export.spec import ExportSpec
from fomm_tf.cli import errors_as_exit, optional_bool, run
from fomm_tf.errors import ExportError


def _check_images(images, name):
    tf.debugging.assert_greater_equal(images, 0.0, message=f"{name} must be >= 0")
    tf.debugging.assert_less_equal(images, 1.0, message=f"{name} must be <= 1")


def _broadcast(tensor, batch, name):
    """Batch 1 -> ``batch``; any other mismatch is an error."""
    rows = tf.shape(tensor)[0]
    check = tf.debugging.assert_equal(
        (rows == 1) | (rows == batch),
        True,
        message=f"{name} batch must be 1 or the number of driving frames",
    )
    with tf.control_dependencies([check]):
        shape = tf.concat([[batch], tf.shape(tensor)[1:]], axis=0)
        return tf.broadcast_to(tensor, shape)


class ServingModule(tf.Module):
    """The Keras models behind the ``keypoints`` and ``animate`` signatures."""

    def __init__(self, models, spec):
        super().__init__(name="fomm_serving")
        # Track only the weights: saving a tracked Keras model would also trace
        # its ``call``, which needs keypoint arguments.
        self.weights = list(models.kp_detector.weights) + list(models.generator.weights)
        self._get_models = lambda: models
        self.spec = spec

    @property
    def models(self):
        return self._get_models()

    def keypoints(self, images):
        _check_images(images, "images")
        return graphs.keypoints(self.models.kp_detector, images)

    def animate(self, source, driving, *inputs):
        *kp_tensors, flags = inputs
        _check_images(source, "source")
        _check_images(driving, "driving")
        flags_ok = tf.reduce_all((flags == 0.0) | (flags == 1.0))
        tf.debugging.assert_equal(
            flags_ok, True, message="normalization_flags must be 0 or 1"
        )
        batch = tf.shape(driving)[0]
        names = [spec.name for spec in self.spec.keypoints("kp_source", None)] + [
            spec.name for spec in self.spec.keypoints("kp_driving_initial", None)
        ]
        kp_tensors = [
            _broadcast(
                tf.debugging.assert_all_finite(t, f"{n} must be finite"), batch, n
            )
            for t, n in zip(kp_tensors, names, strict=True)
        ]
        source = _broadcast(source, batch, "source")
        detected = graphs.keypoints(self.models.kp_detector, driving)
        per = len(kp_tensors) // 2
        kp_source = graphs.keypoint_dict(*kp_tensors[:per])
        kp_initial = graphs.keypoint_dict(*kp_tensors[per:])
        kp_driving = graphs.keypoint_dict(*_ordered(detected))
        frame = graphs.prediction(
            self.models.generator, source, kp_source, kp_driving, kp_initial, flags
        )
        return {"prediction": frame}

    def signatures(self):
        spec = self.spec
        keypoints = tf.function(
            self.keypoints, input_signature=[spec.image("images", None)]
        )
        animate = tf.function(
            self.animate,
            input_signature=[
                spec.image("source", None),
                spec.image("driving", None),
                *spec.keypoints("kp_source", None),
                *spec.keypoints("kp_driving_initial", None),
                spec.flags(),
            ],
        )
        animate_concrete = animate.get_concrete_function()
        return {
            "keypoints": keypoints.get_concrete_function(),
            "animate": animate_concrete,
            "serving_default": animate_concrete,
        }


def _ordered(kp):
    """(value, jacobian) of a ``graphs.keypoints`` output, jacobian if present."""
    return [kp[key] for key in ("kp_value", "kp_jacobian") if key in kp]


MARKER = "saved_model.pb"


def check_model_name(model_name):
    """ExportError unless ``model_name`` is one plain path component."""
    name = str(model_name)
    if (
        name in ("", ".", "..")
        or "/" in name
        or "\\" in name
        or "\0" in name
        or name != name.strip()
    ):
        raise ExportError(
            f"--model_name must be a single folder name, got {model_name!r}"
        )
    return name


def check_target(out_dir, model_name, version):
    """``out_dir/model_name/version``, checked before any work: a safe name, a
    positive version, a writable parent, nothing there an export may not replace."""
    name = check_model_name(model_name)
    if int(version) < 1:
        raise ExportError(f"version must be a positive integer, got {version}")
    target = Path(out_dir) / name / str(int(version))
    check_writable_parent(target)
    recover(target)
    check_replaceable(target, MARKER)
    return target


def export_saved_model(models, out_dir, model_name="fomm", version=1):
    """Write ``out_dir/model_name/version`` atomically; returns its path."""
    target = check_target(out_dir, model_name, version)
    module = ServingModule(models, ExportSpec.from_models(models))
    with atomic_directory(target, MARKER) as staging:
        tf.saved_model.save(module, str(staging), signatures=module.signatures())
    return target


def define_flags():
    """CLI flags (defined only when run as a script)."""
    define_model_flags()
    flags.DEFINE_string("out", None, "parent of the TF Serving --model_base_path")
    flags.DEFINE_string("model_name", "fomm", "model name (sub-directory)")
    flags.DEFINE_integer(
        "version",
        1,
        "model version (sub-directory)",
        lower_bound=1,
        upper_bound=2**63 - 1,
    )


def main(argv):
    del argv
    options = flags.FLAGS
    with errors_as_exit("export.saved_model"):
        if not options.out:
            raise ExportError("--out is required")
        check_target(options.out, options.model_name, options.version)
        models, _ = load_models(
            options.config,
            options.checkpoint,
            options.random_weights,
            optional_bool(options.align_corners),
        )
        path = export_saved_model(
            models, options.out, options.model_name, options.version
        )
    print(path)


if __name__ == "__main__":
    define_flags()
    run(main)
