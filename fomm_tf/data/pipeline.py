"""tf.data input pipelines: training pairs and whole test videos.

Training (official ``DatasetRepeater(FramesDataset(is_train=True))`` behind a
shuffling ``DataLoader(drop_last=True)``): an epoch is ``num_repeats`` passes
over the items (videos, or identities with ``id_sampling``) in a fresh random
order, cut to whole batches. Every pair's randomness (video, frames,
augmentation) comes from a seed derived from (seed, epoch, position), so a
seeded stream is reproducible and can be restarted at any step.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tensorflow as tf
from absl import logging

from fomm_tf.config import FommConfig
from fomm_tf.data.augmentation import PairAugmentation
from fomm_tf.data.pair_sampler import PairSampler, group_items
from fomm_tf.data.video_files import read_video
from fomm_tf.errors import VideoReadError
from fomm_tf.video_io import list_videos

PathLike = str | os.PathLike[str]


def make_train_dataset(
    cfg: FommConfig,
    root_dir: PathLike | None = None,
    batch_size: int | None = None,
    seed: int | None = None,
    *,
    start_step: int = 0,
    num_epochs: int | None = None,
) -> tf.data.Dataset:
    """Batches ``{'source', 'driving'}``, each (B, H, W, 3) float32 in [0, 1].

    ``root_dir`` defaults to ``cfg.dataset_params.root_dir``, ``batch_size`` to
    ``cfg.train_params.batch_size``; ``seed=None`` draws a random seed. The
    stream runs epoch after epoch (``num_epochs=None``: forever), each epoch
    :func:`steps_per_epoch` batches, starting at global step ``start_step``
    (resume: ``start_step = epoch * steps_per_epoch + step``). For Keras::

        model.fit(ds, epochs=E, steps_per_epoch=steps_per_epoch(cfg))
    """
    sampler, batch_size = _train_sampler(cfg, root_dir, batch_size)
    num_items = len(sampler) * cfg.train_params.num_repeats
    epoch_items = (num_items // batch_size) * batch_size
    base_seed = tf.constant([_resolve_seed(seed), 0], tf.int64)
    start_epoch, offset = divmod(start_step * batch_size, epoch_items)
    items = (
        _epoch_numbers(start_epoch, num_epochs)
        .flat_map(
            lambda epoch: _epoch_items(
                epoch, len(sampler), num_items, epoch_items, base_seed
            )
        )
        .skip(offset)
    )
    augment = PairAugmentation(
        cfg.dataset_params.augmentation_params, sampler.frame_shape
    )
    dataset = items.map(
        lambda item, pair_seed: _load_pair(sampler, augment, item, pair_seed),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    dataset = dataset.batch(batch_size, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(_options())


def steps_per_epoch(
    cfg: FommConfig, root_dir: PathLike | None = None, batch_size: int | None = None
) -> int:
    """Batches per epoch of :func:`make_train_dataset` (official drop_last)."""
    root = _root(cfg, root_dir)
    videos = list_videos(root, "train")
    items = len(group_items(videos, cfg.dataset_params.id_sampling))
    batch_size = batch_size or cfg.train_params.batch_size
    return (items * cfg.train_params.num_repeats) // batch_size


def make_video_dataset(
    cfg: FommConfig, root_dir: PathLike | None = None, split: str = "test"
) -> tf.data.Dataset:
    """Whole videos of ``split``, unbatched: ``{'video': (T, H, W, 3), 'name'}``.

    Official ``FramesDataset(is_train=False)``: no augmentation, all frames, in
    sorted name order. Unreadable videos are logged by name and left out.
    """
    frame_shape = tuple(cfg.dataset_params.frame_shape)
    videos = list_videos(_root(cfg, root_dir), split)
    paths = tf.data.Dataset.from_tensor_slices([os.fspath(v) for v in videos])
    dataset = paths.map(
        lambda path: _load_video(path, frame_shape),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    dataset = dataset.filter(lambda example: tf.shape(example["video"])[0] > 0)
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(_options())


def _root(cfg: FommConfig, root_dir: PathLike | None) -> Path:
    """The dataset root: the argument, else the config's, else an error."""
    root = root_dir if root_dir is not None else cfg.dataset_params.root_dir
    if root is None:
        raise ValueError(
            "no dataset root: pass root_dir or set dataset_params.root_dir"
        )
    return Path(root)


def _train_sampler(
    cfg: FommConfig, root_dir: PathLike | None, batch_size: int | None
) -> tuple[PairSampler, int]:
    """The sampler over the train split and the checked batch size."""
    root = _root(cfg, root_dir)
    videos = list_videos(root, "train")
    if not videos:
        raise ValueError(f"{root}: no training videos")
    sampler = PairSampler(
        videos, cfg.dataset_params.frame_shape, cfg.dataset_params.id_sampling
    )
    batch_size = batch_size or cfg.train_params.batch_size
    num_items = len(sampler) * cfg.train_params.num_repeats
    if batch_size < 1 or num_items < batch_size:
        raise ValueError(
            f"{root}: {len(sampler)} training items x num_repeats "
            f"{cfg.train_params.num_repeats} cannot fill a batch of {batch_size}"
        )
    return sampler, batch_size


def _resolve_seed(seed: int | None) -> int:
    """The given seed as a non-negative int64, or a fresh random one."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    return int(seed) & 0x7FFFFFFFFFFFFFFF


def _epoch_numbers(start: int, stop: int | None) -> tf.data.Dataset:
    """Epoch indices from ``start`` (int64), to ``stop`` or forever."""
    if stop is None:
        return tf.data.Dataset.counter(start)
    return tf.data.Dataset.range(start, stop)


def _epoch_items(
    epoch: tf.Tensor,
    num_items: int,
    num_slots: int,
    epoch_items: int,
    base_seed: tf.Tensor,
) -> tf.data.Dataset:
    """(item index, pair seed) of one epoch: a permutation of ``num_repeats``
    copies of every item, cut to whole batches; seeds from (epoch, position)."""
    fold_in = tf.random.experimental.stateless_fold_in
    epoch_seed = fold_in(base_seed, epoch)
    keys = tf.random.stateless_uniform([num_slots], epoch_seed)
    order = tf.argsort(keys)[:epoch_items] % num_items
    positions = tf.data.Dataset.range(epoch_items)
    return tf.data.Dataset.zip(
        tf.data.Dataset.from_tensor_slices(order),
        positions.map(lambda position: fold_in(epoch_seed, position)),
    )


def _load_pair(
    sampler: PairSampler, augment: PairAugmentation, item: tf.Tensor, seed: tf.Tensor
) -> dict[str, tf.Tensor]:
    """Decode and augment one pair; ``seed`` (2,) drives all its randomness."""
    seeds = tf.random.experimental.stateless_split(seed, num=2)
    pair = tf.numpy_function(
        lambda index, frame_seed: sampler.sample(int(index), frame_seed),
        [item, seeds[0]],
        tf.float32,
        name="sample_frame_pair",
    )
    pair = tf.ensure_shape(pair, (2, *sampler.frame_shape))
    pair = augment(pair, seeds[1])
    return {"source": pair[0], "driving": pair[1]}


def _load_video(path: tf.Tensor, frame_shape: tuple[int, ...]) -> dict:
    """Decode one whole video; an unreadable one becomes zero frames (filtered)."""

    def read(path_bytes: bytes) -> np.ndarray:
        try:
            return read_video(path_bytes.decode(), frame_shape)
        except VideoReadError as exc:
            logging.warning("Skipping unreadable video %s", exc)
            return np.zeros((0, *frame_shape), np.float32)

    video = tf.numpy_function(read, [path], tf.float32, name="read_video")
    video = tf.ensure_shape(video, (None, *frame_shape))
    name = tf.strings.split(path, os.sep)[-1]
    return {"video": video, "name": name}


def _options() -> tf.data.Options:
    """Deterministic order; multi-worker sharding by element (no input files)."""
    options = tf.data.Options()
    options.deterministic = True
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    return options
