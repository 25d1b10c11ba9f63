package com.fommtf.core;

/**
 * Bitmap pixels <-> model tensors. Pixels are Android's ARGB_8888 ints
 * ({@code Bitmap.getPixels}: 0xAARRGGBB, row-major); tensors are the export's NHWC
 * float32 RGB in [0, 1] (batch 1), value = byte / 255 exactly as Python's
 * {@code fomm_tf.video_io} reads images. Alpha is dropped.
 */
public final class ImageTensors {
  private ImageTensors() {}

  /** ARGB pixels (height * width) -> NHWC float32 RGB in [0, 1]. */
  public static float[] argbToNhwc(int[] argb, int height, int width) {
    if (argb.length != height * width) {
      throw new IllegalArgumentException(
          argb.length + " pixels for a " + width + "x" + height + " frame");
    }
    float[] out = new float[height * width * 3];
    for (int p = 0; p < argb.length; p++) {
      int c = argb[p];
      out[3 * p] = ((c >> 16) & 0xFF) / 255.0f;
      out[3 * p + 1] = ((c >> 8) & 0xFF) / 255.0f;
      out[3 * p + 2] = (c & 0xFF) / 255.0f;
    }
    return out;
  }

  /**
   * NHWC float32 RGB -> opaque ARGB pixels: clipped to [0, 1], times 255, rounded
   * half to even (numpy's {@code round}, as {@code video_io.to_uint8}).
   */
  public static int[] nhwcToArgb(float[] nhwc, int height, int width) {
    if (nhwc.length != height * width * 3) {
      throw new IllegalArgumentException(
          nhwc.length + " values for a " + width + "x" + height + "x3 tensor");
    }
    int[] out = new int[height * width];
    for (int p = 0; p < out.length; p++) {
      out[p] = 0xFF000000 | (toByte(nhwc[3 * p]) << 16) | (toByte(nhwc[3 * p + 1]) << 8)
          | toByte(nhwc[3 * p + 2]);
    }
    return out;
  }

  static int toByte(float value) {
    float clipped = Math.min(1.0f, Math.max(0.0f, value));
    return (int) Math.rint(clipped * 255.0f);
  }
}
