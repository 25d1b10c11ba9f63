"""PNG-grid visualisation of a FOMM forward pass (official ``logger.Visualizer``).

Columns, left to right, each holding the batch stacked vertically: source with
its keypoints, (transformed frame with its keypoints, training only), driving
with its keypoints, deformed source, (prediction with the normalised
keypoints, animation only), prediction, occlusion map, then for every
keypoint-plus-background k: the k-th sparse-deformed source and its mask, and
last the sum of all coloured masks. Inputs are numpy arrays (NHWC) in [0, 1].
"""

import numpy as np

# matplotlib's ``gist_rainbow`` control points (position, (r, g, b)), from
# ``matplotlib/_cm.py``; matplotlib samples them into a 256-entry table.
_GIST_RAINBOW = (
    (0.000, (1.00, 0.00, 0.16)),
    (0.030, (1.00, 0.00, 0.00)),
    (0.215, (1.00, 1.00, 0.00)),
    (0.400, (0.00, 1.00, 0.00)),
    (0.586, (0.00, 1.00, 1.00)),
    (0.770, (0.00, 0.00, 1.00)),
    (0.954, (1.00, 0.00, 1.00)),
    (1.000, (1.00, 0.00, 0.75)),
)
_COLORMAP_SIZE = 256


def _lookup_table(control_points, size=_COLORMAP_SIZE):
    positions = np.array([point[0] for point in control_points])
    colors = np.array([point[1] for point in control_points])
    samples = np.linspace(0.0, 1.0, size)
    return np.stack([np.interp(samples, positions, colors[:, c]) for c in range(3)], -1)


_COLORMAPS = {"gist_rainbow": _lookup_table(_GIST_RAINBOW)}


def get_colormap(name):
    """A function [0, 1] -> RGB like ``matplotlib.pyplot.get_cmap(name)`` (no alpha)."""
    if name not in _COLORMAPS:
        raise ValueError(
            f"colormap {name!r} is not available (have {sorted(_COLORMAPS)})"
        )
    table = _COLORMAPS[name]

    def color(value):
        # matplotlib: index int(x * N), with x == 1 mapped to the last entry.
        index = np.clip((np.asarray(value) * len(table)).astype(int), 0, len(table) - 1)
        return table[index]

    return color


def _keypoint_values(kp):
    """(B, K, 2) keypoint values from an array or a ``{'value': ...}`` dict."""
    return np.asarray(kp["value"] if isinstance(kp, dict) else kp)


def draw_keypoints(image, kp_values, kp_size=5, colormap_name="gist_rainbow"):
    """A copy of ``image`` (H, W, 3) with a filled disc per keypoint (K, 2) in
    [-1, 1] (x, y); keypoint k gets colour ``colormap(k / K)``.

    Discs are the pixels strictly inside radius ``kp_size``
    (``skimage.draw.circle`` of the official code).
    """
    image = np.array(image, dtype=np.float32, copy=True)
    height, width = image.shape[:2]
    pixels = np.array([width, height]) * (np.asarray(kp_values) + 1) / 2  # (K, 2)
    colors = get_colormap(colormap_name)(np.arange(len(pixels)) / len(pixels))
    rows = np.arange(height, dtype=np.float64)[:, None]
    cols = np.arange(width, dtype=np.float64)[None, :]
    for (x, y), color in zip(pixels, colors, strict=True):
        inside = ((rows - y) / kp_size) ** 2 + ((cols - x) / kp_size) ** 2 < 1
        image[inside] = color
    return image


def _resize_nearest(images, height, width):
    """(B, h, w, C) -> (B, height, width, C), torch ``F.interpolate`` 'nearest'."""
    rows = np.floor(np.arange(height) * images.shape[1] / height).astype(int)
    cols = np.floor(np.arange(width) * images.shape[2] / width).astype(int)
    return images[:, rows][:, :, cols]


class Visualizer:
    """Official ``Visualizer(kp_size, draw_border, colormap)``; see module doc."""

    def __init__(self, kp_size=5, draw_border=False, colormap="gist_rainbow"):
        self.kp_size = kp_size
        self.draw_border = draw_border
        self.colormap_name = colormap
        self.colormap = get_colormap(colormap)

    @classmethod
    def from_config(cls, visualizer_params):
        """From a config's ``visualizer_params`` section."""
        return cls(
            kp_size=visualizer_params.kp_size,
            draw_border=visualizer_params.draw_border,
            colormap=visualizer_params.colormap,
        )

    def _column(self, images):
        images = np.array(images, dtype=np.float32, copy=True)
        if self.draw_border:
            images[:, :, [0, -1]] = 1.0  # official: first and last column white
        return np.concatenate(list(images), axis=0)

    def _column_with_kp(self, images, kp):
        drawn = [
            draw_keypoints(image, values, self.kp_size, self.colormap_name)
            for image, values in zip(images, _keypoint_values(kp), strict=True)
        ]
        return self._column(drawn)

    def _mask_columns(self, out, height, width):
        """Per-transform sparse-deformed images and coloured masks, then their sum."""
        sparse = np.asarray(out["sparse_deformed"])  # (B, K+1, h, w, 3)
        masks = np.asarray(out["mask"])  # (B, h, w, K+1)
        count = sparse.shape[1]
        columns, coloured = [], []
        for index in range(count):
            image = _resize_nearest(sparse[:, index], height, width)
            mask = _resize_nearest(
                np.repeat(masks[..., index : index + 1], 3, -1), height, width
            )
            color = np.zeros(3)
            if index:
                color = self.colormap((index - 1) / (count - 1))
            columns += [image, mask * color if index else mask]
            coloured.append(mask * color)
        return columns + [sum(coloured)]

    def visualize(self, source, driving, out, kp_source, kp_driving):
        """The grid image, uint8 (H', W', 3).

        Args:
          source, driving: (B, H, W, 3) images in [0, 1].
          out: generator outputs as numpy arrays: ``prediction`` and optionally
            ``deformed``, ``occlusion_map``, ``sparse_deformed`` + ``mask``,
            ``kp_norm``, ``transformed_frame`` + ``transformed_kp``.
          kp_source, kp_driving: (B, K, 2) keypoints or ``{'value': ...}`` dicts.
        """
        source, driving = np.asarray(source), np.asarray(driving)
        height, width = source.shape[1:3]
        columns = [self._column_with_kp(source, kp_source)]
        if "transformed_frame" in out:
            columns.append(
                self._column_with_kp(out["transformed_frame"], out["transformed_kp"])
            )
        columns.append(self._column_with_kp(driving, kp_driving))
        if "deformed" in out:
            columns.append(self._column(out["deformed"]))
        prediction = np.asarray(out["prediction"])
        if "kp_norm" in out:
            columns.append(self._column_with_kp(prediction, out["kp_norm"]))
        columns.append(self._column(prediction))
        if "occlusion_map" in out:
            occlusion = np.repeat(np.asarray(out["occlusion_map"]), 3, axis=-1)
            columns.append(self._column(_resize_nearest(occlusion, height, width)))
        if "sparse_deformed" in out:
            columns += [self._column(c) for c in self._mask_columns(out, height, width)]
        grid = np.concatenate(columns, axis=1)
        return (255 * grid).astype(np.uint8)  # official truncates, no rounding


def visualize(source, driving, out, kp_source, kp_driving, **visualizer_kwargs):
    """``Visualizer(**visualizer_kwargs).visualize(...)``; see :class:`Visualizer`."""
    return Visualizer(**visualizer_kwargs).visualize(
        source, driving, out, kp_source, kp_driving
    )
