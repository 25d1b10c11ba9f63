"""Training data in the official FOMM dataset layout, as tf.data pipelines.

Public API::

    ds = fomm_tf.data.make_train_dataset(cfg, root_dir, batch_size=8, seed=0)
    # batches {'source': (B, H, W, 3), 'driving': (B, H, W, 3)} in [0, 1]
    fomm_tf.data.steps_per_epoch(cfg, root_dir, batch_size=8)
    fomm_tf.data.make_video_dataset(cfg, root_dir, split="test")  # whole videos
    fomm_tf.data.list_videos(root, "train")                       # list[Path]
    fomm_tf.data.read_video(path, frame_shape)                    # (T, H, W, 3)
    fomm_tf.data.animation_pairs(videos, number_of_pairs)         # PairedDataset
"""

from fomm_tf.data.augmentation import PairAugmentation
from fomm_tf.data.pairs import animation_pairs
from fomm_tf.data.pipeline import (
    make_train_dataset,
    make_video_dataset,
    steps_per_epoch,
)
from fomm_tf.data.video_files import read_video
from fomm_tf.errors import VideoReadError
from fomm_tf.video_io import list_videos, video_id

__all__ = [
    "PairAugmentation",
    "VideoReadError",
    "animation_pairs",
    "list_videos",
    "make_train_dataset",
    "make_video_dataset",
    "read_video",
    "steps_per_epoch",
    "video_id",
]
