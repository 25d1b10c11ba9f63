"""A tensorflow-datasets builder for a dataset root in the official FOMM layout.

Builds offline from local videos (any format :func:`read_video` reads); each
example is ``{'video': (T, H, W, 3) uint8, 'name': str}``, with the ``train``
and ``test`` splits of :func:`list_videos`. The config name is the frame size
``"HxW"`` (``64x64`` and ``256x256`` are predefined; pass
``tfds.core.BuilderConfig(name="128x128")`` for another). The root is the
``manual_dir`` or the ``root_dir`` builder argument::

    import fomm_tf.data.tfds_builder  # registers "fomm_videos"
    ds = tfds.load(
        "fomm_videos/64x64", split="train", data_dir=DATA_DIR,
        download_and_prepare_kwargs={
            "download_config": tfds.download.DownloadConfig(manual_dir=ROOT)},
    )
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds
from absl import logging

from fomm_tf.data.video_files import read_video
from fomm_tf.errors import VideoReadError
from fomm_tf.video_io import list_videos


class FommVideos(tfds.core.GeneratorBasedBuilder):
    """Videos of a local FOMM dataset root, one example per video."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name="64x64", description="64x64 frames"),
        tfds.core.BuilderConfig(name="256x256", description="256x256 frames"),
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Point manual_dir (or the root_dir builder argument) at a dataset root "
        "with train/ and test/ folders of videos (frame folders, .mp4, .mov, .gif "
        "or .png/.jpg strips), e.g. one written by `python -m fomm_tf.synthetic`."
    )

    def __init__(self, *, root_dir: str | os.PathLike[str] | None = None, **kwargs):
        self.root_dir = None if root_dir is None else Path(root_dir)
        super().__init__(**kwargs)

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """(H, W, 3) from the config name 'HxW'."""
        try:
            height, width = (int(n) for n in self.builder_config.name.split("x"))
        except ValueError as exc:
            raise ValueError(
                f"fomm_videos config name must be 'HxW', got "
                f"{self.builder_config.name!r}"
            ) from exc
        return height, width, 3

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "video": tfds.features.Video(shape=(None, *self.frame_shape)),
                    "name": tfds.features.Text(),
                }
            ),
            description="Local videos in the First Order Motion Model layout.",
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        root = self.root_dir or Path(dl_manager.manual_dir)
        return {
            split: self._generate_examples(list_videos(root, split))
            for split in ("train", "test")
        }

    def _generate_examples(self, videos: list[Path]):
        """(name, example) per readable video; unreadable ones are logged."""
        for path in videos:
            try:
                video = read_video(path, self.frame_shape)
            except VideoReadError as exc:
                logging.warning("Skipping unreadable video %s", exc)
                continue
            frames = np.round(video * 255.0).astype(np.uint8)
            yield path.name, {"video": frames, "name": path.name}
