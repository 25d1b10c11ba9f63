"""Source/driving video pairs for animation (official ``PairedDataset``)."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def animation_pairs(
    videos: Sequence[Path],
    number_of_pairs: int,
    pairs_list: str | os.PathLike[str] | None = None,
    seed: int = 0,
) -> list[tuple[Path, Path]]:
    """(driving video, source video) pairs, as official ``PairedDataset``.

    Without ``pairs_list``: ``number_of_pairs`` distinct cells drawn without
    replacement from the grid of the first ``min(number_of_pairs, len(videos))``
    videos, with ``np.random.seed(seed)`` as the official. With a CSV
    ``pairs_list`` (columns ``source``, ``driving``: video names): its first
    ``number_of_pairs`` rows whose videos both exist, in file order.
    """
    videos = [Path(v) for v in videos]
    if pairs_list is not None:
        return _listed_pairs(videos, number_of_pairs, Path(pairs_list))
    side = min(number_of_pairs, len(videos))
    grid = np.mgrid[:side, :side].reshape(2, -1).T  # (side^2, 2): (driving, source)
    count = min(grid.shape[0], number_of_pairs)
    chosen = np.random.RandomState(seed).choice(grid.shape[0], count, replace=False)
    return [(videos[d], videos[s]) for d, s in grid[chosen]]


def _listed_pairs(
    videos: list[Path], number_of_pairs: int, pairs_list: Path
) -> list[tuple[Path, Path]]:
    """Pairs named in a CSV with ``source`` and ``driving`` columns; a name
    matches a video with or without its extension."""
    by_name = {video.stem: video for video in videos}
    by_name.update({video.name: video for video in videos})
    try:
        with pairs_list.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{pairs_list}: cannot read pairs list: {exc}") from None
    if rows and not {"source", "driving"} <= set(rows[0]):
        raise ValueError(f"{pairs_list}: needs 'source' and 'driving' columns")
    pairs = [
        (by_name[row["driving"]], by_name[row["source"]])
        for row in rows
        if row["driving"] in by_name and row["source"] in by_name
    ]
    return pairs[:number_of_pairs]
