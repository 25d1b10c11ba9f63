"""The tensorflow-datasets builder builds offline from a local root and loads."""

from __future__ import annotations

import numpy as np
import pytest

from fomm_tf import data, synthetic

tfds = pytest.importorskip("tensorflow_datasets")
tfds_builder = pytest.importorskip("fomm_tf.data.tfds_builder")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("root") / "synth"
    synthetic.write_dataset(root, 4, 3, 64, seed=0)
    (root / "train" / "broken.mp4").write_bytes(b"nope")
    return root


def test_tfds_load_builds_offline_from_manual_dir(root, tmp_path):
    download_config = tfds.download.DownloadConfig(manual_dir=str(root))
    train = tfds.load(
        "fomm_videos/64x64",
        split="train",
        data_dir=str(tmp_path),
        download_and_prepare_kwargs={"download_config": download_config},
    )
    examples = {ex["name"].decode(): ex["video"] for ex in tfds.as_numpy(train)}
    assert sorted(examples) == ["id0000#00", "id0001#00", "id0002#00"]
    for name, video in examples.items():
        assert video.shape == (3, 64, 64, 3) and video.dtype == np.uint8
        expected = data.read_video(root / "train" / name, (64, 64, 3))
        np.testing.assert_allclose(video / 255.0, expected, atol=0.5 / 255 + 1e-6)


def test_builder_with_root_dir_and_custom_frame_size(root, tmp_path):
    builder = tfds_builder.FommVideos(
        config=tfds.core.BuilderConfig(name="32x48"),
        data_dir=str(tmp_path),
        root_dir=root,
    )
    builder.download_and_prepare()
    assert builder.info.splits["train"].num_examples == 3
    (example,) = list(tfds.as_numpy(builder.as_dataset(split="test")))
    assert example["name"] == b"id0003#00"
    assert example["video"].shape == (3, 32, 48, 3)
