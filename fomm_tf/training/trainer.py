"""FOMM training as one ``keras.Model`` whose ``train_step`` runs under ``fit``.

One step is the official ``train.py`` iteration: the generator and keypoint
detector take an Adam step on the summed ``GeneratorFullModel`` losses, then,
when ``loss_weights.generator_gan`` is non-zero (the official condition), the
discriminator takes one on ``DiscriminatorFullModel``'s ``disc_gan``.

Under ``tf.distribute`` every replica computes per-replica mean losses; Keras
sums the replica gradients, so each loss is divided by ``num_replicas_in_sync``
first and the update equals that of one device holding the global batch.
Batch statistics match too when the networks use synchronised batch norm.
"""

import keras
import tensorflow as tf

from fomm_tf.training.objectives import (
    active_losses,
    discriminator_losses,
    generator_losses,
)
from fomm_tf.training.transform import Transform

# Official ``torch.optim.Adam(..., betas=(0.5, 0.999))``; torch's default eps.
ADAM_BETAS = (0.5, 0.999)
ADAM_EPSILON = 1e-8


def make_optimizer(learning_rate, name):
    """Adam as the official (betas 0.5, 0.999); Keras adds eps to sqrt(v)."""
    return keras.optimizers.Adam(
        learning_rate=learning_rate,
        beta_1=ADAM_BETAS[0],
        beta_2=ADAM_BETAS[1],
        epsilon=ADAM_EPSILON,
        name=name,
    )


def make_optimizers(train_params):
    """(generator, discriminator, kp_detector) optimizers at the config's rates."""
    return (
        make_optimizer(train_params.lr_generator, "optimizer_generator"),
        make_optimizer(train_params.lr_discriminator, "optimizer_discriminator"),
        make_optimizer(train_params.lr_kp_detector, "optimizer_kp_detector"),
    )


def _multi_worker():
    """True under a ``MultiWorkerMirroredStrategy`` spanning several workers."""
    strategy = tf.distribute.get_strategy()
    return (
        isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        and strategy.extended._in_multi_worker_mode()
    )


def _all_finite(values):
    """True when every tensor in ``values`` (None entries skipped) is finite."""
    norms = [tf.reduce_sum(tf.abs(v)) for v in values if v is not None]
    return tf.reduce_all(tf.math.is_finite(tf.stack(norms)))


class FommTrainer(keras.Model):
    """Trains the networks of a ``FommModels`` with ``fit``.

    Args:
      models: a built ``FommModels`` (use ``synchronized_bn=True`` with more
        than one replica).
      vgg: a ``Vgg19Features`` (None when every perceptual weight is 0).
      pyramid: an ``ImagePyramid`` of ``train_params.scales``.

    Batches are dicts with ``source`` and ``driving`` (B, H, W, 3) in [0, 1]
    and, optionally, the equivariance warp parameters ``theta`` (B, 2, 3) and
    ``control_params`` (B, 1, P^2); without them the warp is drawn at random.
    ``lr_kp_detector == 0`` freezes the detector: its weights and batch-norm
    statistics stay as loaded.
    """

    def __init__(self, models, vgg, pyramid, **kwargs):
        kwargs.setdefault("name", "fomm_trainer")
        super().__init__(**kwargs)
        self.models = models
        self.vgg = vgg
        self.pyramid = pyramid
        self.train_params = models.config.train_params
        self.freeze_detector = self.train_params.lr_kp_detector == 0
        if self.freeze_detector:
            models.kp_detector.trainable = False
        names = active_losses(self.train_params.loss_weights)
        self.trains_discriminator = "disc_gan" in names
        self.loss_trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.nonfinite_steps = tf.Variable(
            0.0,
            trainable=False,
            name="nonfinite_steps",
            aggregation=tf.VariableAggregation.SUM,
        )
        self.optimizer_generator = None
        self.optimizer_discriminator = None
        self.optimizer_kp_detector = None

    @property
    def kp_detector(self):
        return self.models.kp_detector

    @property
    def generator(self):
        return self.models.generator

    @property
    def discriminator(self):
        return self.models.discriminator

    @property
    def metrics(self):
        return list(self.loss_trackers.values())

    def compile(
        self, optimizer_generator, optimizer_discriminator, optimizer_kp_detector
    ):
        """Three Adam optimizers (build them inside ``strategy.scope()``)."""
        super().compile(optimizer=None)
        self.optimizer_generator = optimizer_generator
        self.optimizer_discriminator = optimizer_discriminator
        self.optimizer_kp_detector = optimizer_kp_detector
        self.optimizer_generator.build(self.generator.trainable_variables)
        self.optimizer_discriminator.build(self.discriminator.trainable_variables)
        self.optimizer_kp_detector.build(self.kp_detector.trainable_variables)

    def optimizers_by_name(self):
        """``{'generator' | 'discriminator' | 'kp_detector': optimizer}``."""
        return {
            "generator": self.optimizer_generator,
            "discriminator": self.optimizer_discriminator,
            "kp_detector": self.optimizer_kp_detector,
        }

    def build(self, input_shape=None):
        self.models.build()
        if self.vgg is not None and not self.vgg.built:
            self.vgg.build()
        if not self.pyramid.built:
            self.pyramid.build((None, *self.models.config.dataset_params.frame_shape))
        self.built = True

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Nothing to do: ``build`` and ``compile`` create every variable.

        Keras' own version peeks at a batch and averages it over replicas, which
        fails for dict batches under ``MultiWorkerMirroredStrategy`` (Keras 3.15).
        """

    def call(self, inputs, training=False):
        """Reconstruction of ``driving`` from ``source`` (the generator output)."""
        kp_source = self.kp_detector(inputs["source"], training=training)
        kp_driving = self.kp_detector(inputs["driving"], training=training)
        return self.generator(
            inputs["source"],
            kp_source=kp_source,
            kp_driving=kp_driving,
            training=training,
        )

    def _transform(self, data):
        """The injected equivariance warp of the batch, or None (random)."""
        if "theta" not in data:
            return None
        return Transform(
            tf.shape(data["theta"])[0],
            self.train_params.transform_params,
            theta=data["theta"],
            control_params=data.get("control_params"),
        )

    def _generator_step(self, data, replicas):
        """Generator + detector update; returns (losses, generated, finite)."""
        variables = list(self.generator.trainable_variables)
        if not self.freeze_detector:
            variables += self.kp_detector.trainable_variables
        with tf.GradientTape() as tape:
            losses, generated = generator_losses(
                self.kp_detector,
                self.generator,
                self.discriminator,
                self.vgg,
                self.pyramid,
                self.train_params,
                data["source"],
                data["driving"],
                transform=self._transform(data),
                training=True,
            )
            total = tf.add_n(list(losses.values()))
            scaled = total / replicas
        gradients = tape.gradient(scaled, variables)
        finite = _all_finite([total, *gradients])
        count = len(self.generator.trainable_variables)
        self.optimizer_generator.apply(gradients[:count], variables[:count])
        if not self.freeze_detector:
            self.optimizer_kp_detector.apply(gradients[count:], variables[count:])
        return losses, generated, finite

    def _discriminator_step(self, data, generated, replicas):
        """Discriminator update on ``disc_gan``; returns (losses, finite)."""
        variables = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            losses = discriminator_losses(
                self.discriminator,
                self.pyramid,
                self.train_params,
                data["driving"],
                generated,
                training=True,
            )
            scaled = losses["disc_gan"] / replicas
        gradients = tape.gradient(scaled, variables)
        self.optimizer_discriminator.apply(gradients, variables)
        return losses, _all_finite([losses["disc_gan"], *gradients])

    def train_step(self, data):
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        losses, generated, finite = self._generator_step(data, replicas)
        if self.trains_discriminator:
            disc_losses, disc_finite = self._discriminator_step(
                data, generated, replicas
            )
            losses.update(disc_losses)
            finite = tf.logical_and(finite, disc_finite)
        self.nonfinite_steps.assign_add(1.0 - tf.cast(finite, tf.float32))
        for name, value in losses.items():
            self.loss_trackers[name].update_state(value)
        logs = {name: tracker.result() for name, tracker in self.loss_trackers.items()}
        if _multi_worker():
            # Keras 3.15 reduces step outputs across workers with
            # ``strategy.reduce(MEAN, axis=0)``, which needs an axis to reduce.
            logs = {name: tf.reshape(value, (1,)) for name, value in logs.items()}
        return logs
