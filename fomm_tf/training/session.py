"""One training run: start, resume or fine-tune, under a distribution strategy.

``train(TrainOptions(...))`` is what ``python -m fomm_tf.train`` runs.  Layout
of ``log_dir``::

    checkpoints/     resumable state (tf.train.CheckpointManager, 2 newest)
    log.txt          per-epoch mean losses, official format
    train-vis/       the visualisation grid of every epoch
    tensorboard/     scalars (train/) and the grid images (images/)
    models.keras     the final networks (FommModels), written atomically

Everything random is a function of ``seed`` and the global step (the data
stream, its augmentations and the equivariance warps), the learning rate a
function of the epoch, and the rest lives in the checkpoint, so a resumed run
continues exactly as an uninterrupted one would.
"""

import dataclasses
import json
import os

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from fomm_tf import load_checkpoint, load_config
from fomm_tf.data.pipeline import make_train_dataset, steps_per_epoch
from fomm_tf.fomm_models import build_models
from fomm_tf.layers import ImagePyramid
from fomm_tf.training.learning_rate_milestones import MilestoneLearningRate
from fomm_tf.training.loss_log import LossLog
from fomm_tf.training.objectives import active_losses
from fomm_tf.training.progress_checkpoint import ProgressCheckpoint
from fomm_tf.training.tensorboard_log import EpochScalars
from fomm_tf.training.trainer import FommTrainer, make_optimizers
from fomm_tf.training.training_state import TrainingState
from fomm_tf.training.transform import with_random_warps
from fomm_tf.training.vgg19 import Vgg19Features, build_vgg19, numpy_recipe_weights
from fomm_tf.training.visualization_callback import VisualizationCallback

# ``--vgg_weights`` value selecting the fixture's random stand-in VGG19.
VGG_RECIPE = "numpy-recipe"
VISUALIZED_PAIRS = 4


@dataclasses.dataclass(frozen=True)
class TrainOptions:
    """What ``python -m fomm_tf.train`` is asked to do (see its flags)."""

    config: str
    log_dir: str
    checkpoint: str | None = None
    dataset_root: str | None = None
    vgg_weights: str | None = None
    epochs: int | None = None
    steps_per_epoch: int | None = None
    batch_size: int | None = None
    seed: int = 0
    save_every_steps: int = 100
    # None: synchronised batch norm exactly when there are several replicas.
    # Its one-pass E[x^2] - E[x]^2 variance (as the official SyncBN) differs
    # from the two-pass one in rounding, so replica-count comparisons use it on
    # both sides.
    synchronized_bn: bool | None = None
    verbose: str | int = "auto"


def cluster_workers():
    """Number of chief + worker tasks named by ``TF_CONFIG`` (0 if unset)."""
    cluster = json.loads(os.environ.get("TF_CONFIG") or "{}").get("cluster", {})
    return sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))


def make_strategy(devices=None):
    """``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names several workers,
    else ``MirroredStrategy`` on ``devices`` (default: all local GPUs, or CPU)."""
    if cluster_workers() > 1:
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.MirroredStrategy(devices)


def worker_role(strategy):
    """(is_chief, worker id): only the chief writes logs, images and exports."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True, 0
    cluster = resolver.cluster_spec().as_dict()
    task_type, task_id = resolver.task_type, resolver.task_id or 0
    if "chief" in cluster:
        return task_type == "chief", task_id
    return task_type == "worker" and task_id == 0, task_id


def resolve_config(options):
    """The config with ``--epochs`` / ``--batch_size`` overrides applied."""
    cfg = load_config(options.config)
    train_params = cfg.train_params
    if options.epochs is not None:
        train_params = dataclasses.replace(train_params, num_epochs=options.epochs)
    if options.batch_size is not None:
        train_params = dataclasses.replace(train_params, batch_size=options.batch_size)
    return dataclasses.replace(cfg, train_params=train_params)


def build_vgg(cfg, weights):
    """The perceptual network: None without perceptual terms, else VGG19 from
    ``weights`` (a .pth/.h5 file, or ``numpy-recipe`` for the random stand-in)."""
    if "perceptual" not in active_losses(cfg.train_params.loss_weights):
        return None
    if weights is None:
        raise ValueError(
            "the config has perceptual loss weights: pass --vgg_weights with "
            "torchvision's vgg19-dcbb9e9d.pth or Keras's "
            "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 (or "
            f"'{VGG_RECIPE}' for random stand-in weights)"
        )
    if weights == VGG_RECIPE:
        vgg = Vgg19Features()
        vgg.set_torch_weights(numpy_recipe_weights(), source=VGG_RECIPE)
        return vgg
    return build_vgg19(weights)


def build_trainer(cfg, vgg_weights, synchronized_bn, optimizers=make_optimizers):
    """A compiled ``FommTrainer`` (call inside ``strategy.scope()``).

    ``optimizers(train_params)`` gives the (generator, discriminator,
    kp_detector) optimizers; tests swap in SGD to make loss scaling visible.
    """
    models = build_models(cfg, synchronized_bn=synchronized_bn)
    pyramid = ImagePyramid(
        cfg.train_params.scales, cfg.model_params.common_params.num_channels
    )
    trainer = FommTrainer(models, build_vgg(cfg, vgg_weights), pyramid)
    trainer.build()
    trainer.compile(*optimizers(cfg.train_params))
    return trainer


def load_start_weights(trainer, config_path, checkpoint_path):
    """Fine-tuning: copy an official ``.pth.tar`` or our ``.keras`` into the
    trainer's networks (optimizers and epoch start fresh)."""
    loaded = load_checkpoint(config_path, checkpoint_path)
    for name in ("kp_detector", "generator", "discriminator"):
        getattr(trainer, name).set_weights(getattr(loaded, name).get_weights())


def training_stream(cfg, options, start_step):
    """Batches from global step ``start_step`` on, with their warps."""
    batch_size = cfg.train_params.batch_size
    dataset = make_train_dataset(
        cfg,
        root_dir=options.dataset_root,
        batch_size=batch_size,
        seed=options.seed,
        start_step=start_step,
    )
    return with_random_warps(
        dataset, cfg.train_params.transform_params, batch_size, options.seed, start_step
    )


def visualization_batch(cfg, options):
    """The first pairs of the stream: the frames drawn every epoch."""
    dataset = make_train_dataset(
        cfg,
        root_dir=options.dataset_root,
        batch_size=cfg.train_params.batch_size,
        seed=options.seed,
    )
    batch = next(iter(dataset.take(1)))
    return {key: batch[key][:VISUALIZED_PAIRS].numpy() for key in ("source", "driving")}


def export_models(trainer, cfg, path):
    """Save the networks as one ``.keras`` (plain batch norm) via a temp file."""
    models = trainer.models
    if models.synchronized_bn:
        models = build_models(cfg)
        for name in ("kp_detector", "generator", "discriminator"):
            getattr(models, name).set_weights(getattr(trainer, name).get_weights())
    directory, name = os.path.split(os.fspath(path))
    temporary = os.path.join(directory, f".{name}.partial.keras")
    models.save(temporary)
    os.replace(temporary, path)


def _callbacks(trainer, state, cfg, options, steps, start, is_chief):
    """Schedule and checkpoint callbacks on every worker, logging on the chief.

    The checkpoint comes last: an epoch's log line, scalars and picture are
    written before the checkpoint records the epoch as done, so a run killed
    in between replays the epoch instead of losing them.
    """
    train_params = cfg.train_params
    optimizers = trainer.optimizers_by_name()
    rates = [
        (optimizers["generator"], train_params.lr_generator),
        (optimizers["discriminator"], train_params.lr_discriminator),
        (optimizers["kp_detector"], train_params.lr_kp_detector),
    ]
    callbacks = [MilestoneLearningRate(rates, train_params.epoch_milestones)]
    if is_chief:
        log_dir = options.log_dir
        callbacks += [
            LossLog(os.path.join(log_dir, "log.txt"), list(trainer.loss_trackers)),
            EpochScalars(os.path.join(log_dir, "tensorboard", "train"), optimizers),
            VisualizationCallback(
                visualization_batch(cfg, options),
                os.path.join(log_dir, "train-vis"),
                os.path.join(log_dir, "tensorboard", "images"),
                cfg.visualizer_params,
            ),
        ]
    return [
        *callbacks,
        ProgressCheckpoint(state, steps, options.save_every_steps, start),
    ]


def _fit_segments(start, num_epochs, steps):
    """(first epoch, end epoch, steps per epoch, first global step) of each
    ``fit`` call: the rest of a half-done epoch, then whole epochs."""
    epoch, step = start
    segments = []
    if step > 0 and epoch < num_epochs:
        segments.append((epoch, epoch + 1, steps - step, epoch * steps + step))
        epoch += 1
    if epoch < num_epochs:
        segments.append((epoch, num_epochs, steps, epoch * steps))
    return segments


def _restore_or_initialise(state, trainer, options):
    """Resume from the newest checkpoint, else load ``--checkpoint`` if given."""
    start = state.restore()
    if start is not None:
        logging.info("Resuming %s at epoch %d step %d", state.latest, *start)
        return start
    if options.checkpoint is not None:
        load_start_weights(trainer, options.config, options.checkpoint)
        logging.info("Fine-tuning from %s", options.checkpoint)
    return 0, 0


def train(options, strategy=None, callbacks=(), optimizers=make_optimizers):
    """Run (or finish) the training described by ``options``.

    Returns the final epoch's mean losses (empty when nothing was left to do).
    Raises ``ValueError`` subclasses for bad input and ``NonFiniteLossError``
    when a loss or gradient turns NaN/inf (the last good checkpoint is kept).
    """
    cfg = resolve_config(options)
    strategy = strategy or make_strategy()
    replicas = strategy.num_replicas_in_sync
    batch_size = cfg.train_params.batch_size
    if batch_size % replicas:
        raise ValueError(
            f"batch size {batch_size} is not divisible by {replicas} replicas"
        )
    steps = options.steps_per_epoch or steps_per_epoch(
        cfg, options.dataset_root, batch_size
    )
    is_chief, worker_id = worker_role(strategy)
    os.makedirs(options.log_dir, exist_ok=True)
    keras.utils.set_random_seed(options.seed)  # the initial weights
    with strategy.scope():
        synchronized_bn = options.synchronized_bn
        if synchronized_bn is None:
            synchronized_bn = replicas > 1
        trainer = build_trainer(
            cfg, options.vgg_weights, synchronized_bn, optimizers=optimizers
        )
        state = TrainingState(
            trainer, os.path.join(options.log_dir, "checkpoints"), is_chief, worker_id
        )
    start = _restore_or_initialise(state, trainer, options)
    all_callbacks = _callbacks(trainer, state, cfg, options, steps, start, is_chief)
    all_callbacks += list(callbacks)
    history = {}
    for first, end, epoch_steps, first_step in _fit_segments(
        start, cfg.train_params.num_epochs, steps
    ):
        result = trainer.fit(
            training_stream(cfg, options, first_step),
            initial_epoch=first,
            epochs=end,
            steps_per_epoch=epoch_steps,
            callbacks=all_callbacks,
            verbose=options.verbose if is_chief else 0,
        )
        history = {name: values[-1] for name, values in result.history.items()}
    if is_chief:
        export_models(trainer, cfg, os.path.join(options.log_dir, "models.keras"))
    return {name: float(np.asarray(value)) for name, value in history.items()}
