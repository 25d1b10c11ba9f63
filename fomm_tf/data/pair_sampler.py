"""Per-step frame-pair sampling of official ``FramesDataset.__getitem__`` (train).

Python side of the input pipeline: given an item index and a seed it picks a
video (a random one of the item's identity when ``id_sampling``), two frames of
it, and decodes them. Unreadable videos are logged once by name, remembered and
replaced by another video, so an epoch keeps its length and never crashes
(the official ``DatasetRepeater`` retries the same index forever instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from absl import logging

from fomm_tf.data.video_files import read_frame_pair
from fomm_tf.errors import VideoReadError
from fomm_tf.video_io import video_id


class PairSampler:
    """Frame pairs from a fixed list of videos.

    ``items``: one per video, or one per identity (name before '#') with
    ``id_sampling``, as the official dataset length. ``sample(item, seed)`` is a
    pure function of its arguments and of which videos are unreadable.
    """

    def __init__(
        self, videos: Sequence[Path], frame_shape: Sequence[int], id_sampling: bool
    ):
        if not videos:
            raise ValueError("no videos to sample from")
        self.videos = [Path(v) for v in videos]
        self.frame_shape = tuple(int(n) for n in frame_shape)
        self.items = group_items(self.videos, id_sampling)
        self.unreadable: set[int] = set()

    def __len__(self) -> int:
        return len(self.items)

    def sample(self, item: int, seed: Sequence[int]) -> np.ndarray:
        """(2, H, W, 3) float32 [0, 1]: source then driving frame, in time order.

        Candidates: the item's videos in random order, then every other video in
        random order; the first readable one is used. Each candidate draws its
        frames from its own seeded generator, so skipping a known-bad video does
        not change what the next candidate yields.
        """
        key = [int(s) & 0xFFFFFFFF for s in seed]
        order_rng = np.random.default_rng(key)
        own = order_rng.permutation(self.items[item])
        rest = order_rng.permutation(len(self.videos))
        candidates = list(dict.fromkeys([*own.tolist(), *rest.tolist()]))
        for attempt, index in enumerate(candidates):
            if index in self.unreadable:
                continue
            frames_rng = np.random.default_rng([*key, attempt])
            try:
                return read_frame_pair(self.videos[index], self.frame_shape, frames_rng)
            except VideoReadError as exc:
                self.unreadable.add(index)
                logging.warning(
                    "Skipping unreadable video %s (%s)", self.videos[index], exc
                )
        raise VideoReadError(
            f"{self.videos[0].parent}: none of the {len(self.videos)} videos is "
            "readable"
        )


def group_items(videos: Sequence[Path], id_sampling: bool) -> list[list[int]]:
    """Dataset items as lists of video indices: one video each, or with
    ``id_sampling`` the videos of one identity (identities sorted)."""
    if not id_sampling:
        return [[index] for index in range(len(videos))]
    groups: dict[str, list[int]] = {}
    for index, video in enumerate(videos):
        groups.setdefault(video_id(video), []).append(index)
    return [groups[name] for name in sorted(groups)]
