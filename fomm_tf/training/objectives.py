"""Training objectives of FOMM (official ``GeneratorFullModel`` and
``DiscriminatorFullModel`` in ``modules/model.py``; paper Sec. 3.3).

Both functions return per-replica MEAN losses over the batch they are given, as
the official single-device code.  Under ``tf.distribute`` the trainer divides
each loss by ``num_replicas_in_sync`` before taking gradients, so that the summed
replica gradients equal the gradient of the global-batch mean.

Every term is a mean over all elements of its tensor; weights come from
``train_params.loss_weights``. :func:`active_losses` decides which terms a run
has (those whose weights are zero are skipped, so their keys are absent, as in
the official code); the trainer, its logs and the VGG loading ask it too.
"""

import tensorflow as tf

from fomm_tf import geometry
from fomm_tf.layers.image_pyramid import scale_key
from fomm_tf.training.transform import Transform
from fomm_tf.training.vgg19 import NUM_SLICES


def active_losses(loss_weights):
    """The loss terms these weights switch on, in the official order: the
    generator's terms, then ``disc_gan`` when the GAN is on (the official
    condition for a discriminator step, ``generator_gan != 0``)."""
    gan = loss_weights.generator_gan != 0
    switches = {
        "perceptual": sum(loss_weights.perceptual) != 0,
        "reconstruction": loss_weights.reconstruction != 0,
        "gen_gan": gan,
        "feature_matching": gan and sum(loss_weights.feature_matching) != 0,
        "equivariance_value": loss_weights.equivariance_value != 0,
        "equivariance_jacobian": loss_weights.equivariance_jacobian != 0,
        "disc_gan": gan,
    }
    return [name for name, active in switches.items() if active]


def _detach_kp(kp):
    """Official ``detach_kp``: the keypoints the discriminator sees."""
    return {key: tf.stop_gradient(value) for key, value in kp.items()}


def _mean_abs(difference):
    return tf.reduce_mean(tf.abs(difference))


def perceptual_parts(
    vgg, pyramid_generated, pyramid_real, scales, num_slices=NUM_SLICES
):
    """``{(scale_key, slice 1..num_slices): mean|vgg(gen) - vgg(real)|}``,
    unweighted.

    Official order: scales as listed, slices relu1_1..relu5_1; real features
    are detached. Slices past ``num_slices`` (those with weight 0 at the end of
    the official five) are not computed.
    """
    parts = {}
    for scale in scales:
        key = f"prediction_{scale_key(scale)}"
        features_generated = vgg(pyramid_generated[key], num_slices=num_slices)
        features_real = vgg(pyramid_real[key], num_slices=num_slices)
        pairs = zip(features_generated, features_real, strict=True)
        for index, (generated, real) in enumerate(pairs):
            parts[scale_key(scale), index + 1] = _mean_abs(
                generated - tf.stop_gradient(real)
            )
    return parts


def perceptual_depth(weights):
    """Slices the perceptual loss needs: up to the last non-zero weight."""
    return max(index + 1 for index, weight in enumerate(weights) if weight != 0)


def generator_gan_parts(maps_generated, disc_scales):
    """``{scale_key: mean((1 - D(G))^2)}``: the LSGAN generator term per scale."""
    return {
        scale_key(s): tf.reduce_mean(
            tf.square(1.0 - maps_generated[f"prediction_map_{scale_key(s)}"])
        )
        for s in disc_scales
    }


def feature_matching_parts(maps_real, maps_generated, disc_scales, weights):
    """``{(scale_key, map i): mean|D_real_i - D_gen_i|}`` for maps with weight != 0."""
    parts = {}
    for scale in disc_scales:
        key = f"feature_maps_{scale_key(scale)}"
        pairs = zip(maps_real[key], maps_generated[key], strict=False)
        for index, (real, generated) in enumerate(pairs):
            if weights[index] != 0:
                parts[scale_key(scale), index] = _mean_abs(real - generated)
    return parts


def discriminator_gan_parts(maps_real, maps_generated, disc_scales):
    """``{scale_key: mean((1 - D(real))^2 + D(G)^2)}``: the LSGAN D term."""
    parts = {}
    for scale in disc_scales:
        key = f"prediction_map_{scale_key(scale)}"
        value = tf.square(1.0 - maps_real[key]) + tf.square(maps_generated[key])
        parts[scale_key(scale)] = tf.reduce_mean(value)
    return parts


def pyramid_l1(pyramid_generated, pyramid_real):
    """Sum over scales of mean |generated - real| (the fomm-tf ``reconstruction``
    extension; not part of the official objective)."""
    return tf.add_n(
        [
            tf.reduce_mean(tf.abs(pyramid_generated[key] - pyramid_real[key]))
            for key in sorted(pyramid_real)
        ]
    )


def equivariance_value_part(kp_driving, transformed_kp, transform):
    """``mean|kp_d - warp(kp_t)|``: keypoints follow the random warp (unweighted)."""
    warped = transform.warp_coordinates(transformed_kp["value"])
    return _mean_abs(kp_driving["value"] - warped)


def equivariance_jacobian_product(kp_driving, transformed_kp, transform):
    """``inv(J_d) @ (J_warp(kp_t) @ J_t)``: (B, K, 2, 2), identity when equivariant.

    Nothing is detached: gradients reach the detector through both detections.
    """
    jacobian_transformed = geometry.matmul_2x2(
        transform.jacobian(transformed_kp["value"]), transformed_kp["jacobian"]
    )
    return geometry.matmul_2x2(
        geometry.inverse_2x2(kp_driving["jacobian"]), jacobian_transformed
    )


def _weighted_sum(parts, weight_of):
    """``sum w * part`` accumulated in the parts' (official) order."""
    total = 0.0
    for key, value in parts.items():
        total += weight_of(key) * value
    return total


def _gan_losses(discriminator, weights, active, pyramids, kp, training, record):
    """``gen_gan`` and ``feature_matching``: D(generated) first, then D(real)."""
    pyramid_real, pyramid_generated = pyramids
    maps_generated = discriminator(pyramid_generated, kp=kp, training=training)
    maps_real = discriminator(pyramid_real, kp=kp, training=training)
    disc_scales = discriminator.scales
    gan_parts = generator_gan_parts(maps_generated, disc_scales)
    record.update(
        disc_maps_generated=maps_generated,
        disc_maps_real=maps_real,
        gen_gan_parts=gan_parts,
    )
    losses = {"gen_gan": _weighted_sum(gan_parts, lambda _: weights.generator_gan)}
    if "feature_matching" in active:
        fm_parts = feature_matching_parts(
            maps_real, maps_generated, disc_scales, weights.feature_matching
        )
        record["feature_matching_parts"] = fm_parts
        losses["feature_matching"] = _weighted_sum(
            fm_parts, lambda key: weights.feature_matching[key[1]]
        )
    return losses


def _equivariance_losses(
    kp_detector, weights, active, driving, transform, training, record
):
    """Equivariance value and jacobian losses on the warped driving frame."""
    kp_driving = record["kp_driving"]
    transformed_frame = transform.transform_frame(driving)
    transformed_kp = kp_detector(transformed_frame, training=training)
    record.update(transformed_frame=transformed_frame, transformed_kp=transformed_kp)
    losses = {}
    if "equivariance_value" in active:
        value = equivariance_value_part(kp_driving, transformed_kp, transform)
        losses["equivariance_value"] = weights.equivariance_value * value
    if "equivariance_jacobian" in active:
        product = equivariance_jacobian_product(kp_driving, transformed_kp, transform)
        record["jacobian_product"] = product
        value = _mean_abs(tf.eye(2, dtype=product.dtype) - product)
        losses["equivariance_jacobian"] = weights.equivariance_jacobian * value
    return losses


def generator_losses(
    kp_detector,
    generator,
    discriminator,
    vgg,
    pyramid,
    train_params,
    source,
    driving,
    transform=None,
    training=True,
    intermediates=None,
):
    """The official ``GeneratorFullModel.forward``: weighted generator losses.

    Call order as the official (it matters for batch norm and the discriminator's
    spectral-norm power iterations): detector on source, then driving (separate
    batch statistics), generator, pyramids, VGG per scale, D(generated),
    D(real), then the transform and the detector on the transformed frame.

    Args:
      kp_detector, generator, discriminator: the FOMM networks.
      vgg: a ``Vgg19Features`` (may be None when all perceptual weights are 0).
      pyramid: an ``ImagePyramid`` of ``train_params.scales`` (it must include
        the discriminator's scales, as the official pyramid does).
      train_params: ``fomm_tf.config.TrainParams``.
      source, driving: (B, H, W, C) in [0, 1].
      transform: a ``Transform`` to use; by default a random one is drawn.
      training: passed to every network (train-mode BN, spectral-norm updates).
      intermediates: optional dict, filled with pyramids, discriminator maps,
        unweighted loss parts and the jacobian product (tests, debugging).

    Returns:
      ``(losses, generated)``: ``losses`` holds the weighted scalar means
      ``perceptual``, ``reconstruction``, ``gen_gan``, ``feature_matching``,
      ``equivariance_value``, ``equivariance_jacobian`` (those that
      :func:`active_losses` names).  They are per-replica means: under a
      distribution strategy divide by ``num_replicas_in_sync`` before
      differentiating.  Differentiate their sum w.r.t. the detector and
      generator variables only.  ``generated`` is the generator output plus
      ``kp_source``, ``kp_driving`` and, with equivariance losses,
      ``transformed_frame`` and ``transformed_kp``.
    """
    record = {} if intermediates is None else intermediates
    weights = train_params.loss_weights
    active = active_losses(weights)
    kp_source = kp_detector(source, training=training)
    kp_driving = kp_detector(driving, training=training)
    generated = dict(
        generator(source, kp_source=kp_source, kp_driving=kp_driving, training=training)
    )
    generated.update(kp_source=kp_source, kp_driving=kp_driving)
    record.update(kp_source=kp_source, kp_driving=kp_driving)
    pyramid_real = pyramid(driving)
    pyramid_generated = pyramid(generated["prediction"])
    record.update(pyramid_real=pyramid_real, pyramid_generated=pyramid_generated)
    losses = {}
    if "perceptual" in active:
        parts = perceptual_parts(
            vgg,
            pyramid_generated,
            pyramid_real,
            train_params.scales,
            num_slices=perceptual_depth(weights.perceptual),
        )
        record["perceptual_parts"] = parts
        losses["perceptual"] = _weighted_sum(
            parts, lambda key: weights.perceptual[key[1] - 1]
        )
    if "reconstruction" in active:
        losses["reconstruction"] = weights.reconstruction * pyramid_l1(
            pyramid_generated, pyramid_real
        )
    if "gen_gan" in active:
        pyramids = (pyramid_real, pyramid_generated)
        kp = _detach_kp(kp_driving)
        losses.update(
            _gan_losses(discriminator, weights, active, pyramids, kp, training, record)
        )
    if {"equivariance_value", "equivariance_jacobian"} & set(active):
        if transform is None:
            transform = Transform(tf.shape(driving)[0], train_params.transform_params)
        losses.update(
            _equivariance_losses(
                kp_detector, weights, active, driving, transform, training, record
            )
        )
        generated.update(
            transformed_frame=record["transformed_frame"],
            transformed_kp=record["transformed_kp"],
        )
    return losses, generated


def discriminator_losses(
    discriminator,
    pyramid,
    train_params,
    driving,
    generated,
    training=True,
    intermediates=None,
):
    """The official ``DiscriminatorFullModel.forward``: ``{'disc_gan': scalar}``.

    ``disc_gan = discriminator_gan * sum_scales mean((1 - D(real))^2 + D(G)^2)``,
    with D(generated.detach()) computed before D(real).  ``generated`` is the
    second output of ``generator_losses``.  A per-replica mean: under a
    distribution strategy divide by ``num_replicas_in_sync`` before
    differentiating w.r.t. the discriminator variables.  ``intermediates``
    (optional dict) receives the discriminator maps and the per-scale parts.
    """
    record = {} if intermediates is None else intermediates
    pyramid_real = pyramid(driving)
    pyramid_generated = pyramid(tf.stop_gradient(generated["prediction"]))
    kp = _detach_kp(generated["kp_driving"])
    maps_generated = discriminator(pyramid_generated, kp=kp, training=training)
    maps_real = discriminator(pyramid_real, kp=kp, training=training)
    parts = discriminator_gan_parts(maps_real, maps_generated, discriminator.scales)
    record.update(
        disc_maps_generated=maps_generated, disc_maps_real=maps_real, disc_parts=parts
    )
    weight = train_params.loss_weights.discriminator_gan
    return {"disc_gan": _weighted_sum(parts, lambda _: weight)}
