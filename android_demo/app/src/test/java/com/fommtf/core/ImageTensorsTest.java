package com.fommtf.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.util.List;
import org.junit.Test;

public class ImageTensorsTest {
  @Test
  public void layoutAndRange() {
    int[] argb = {0xFFFF0000, 0x80_00FF80, 0xFF000000, 0x00FFFFFF}; // 2x2, alpha ignored
    float[] t = ImageTensors.argbToNhwc(argb, 2, 2);
    assertArrayEquals(new float[] {1, 0, 0, 0, 1, 128 / 255f, 0, 0, 0, 1, 1, 1}, t, 0f);
    assertArrayEquals(new int[] {0xFFFF0000, 0xFF00FF80, 0xFF000000, 0xFFFFFFFF},
        ImageTensors.nhwcToArgb(t, 2, 2));
    // clipped to [0, 1]; x * 255 rounded half to even like numpy
    int[] px = ImageTensors.nhwcToArgb(new float[] {-0.5f, 1.7f, 0.5f / 255f}, 1, 1);
    assertEquals(0xFF00FF00, px[0]);
    assertEquals(2, ImageTensors.toByte(2.5f / 255f));
    assertThrows(IllegalArgumentException.class, () -> ImageTensors.argbToNhwc(argb, 3, 2));
  }

  /** The app's tensors from Bitmap pixels equal the Python runner's inputs bit for
   * bit, and its displayed pixels equal Python's 8-bit frames. */
  @Test
  public void goldenPixelsGivePythonsTensors() throws Exception {
    Golden g = Golden.load();
    ModelCard card = g.card();
    int h = card.height;
    int w = card.width;
    assertArrayEquals(g.floatsAt("source"), ImageTensors.argbToNhwc(g.intsAt("source_argb"), h, w), 0f);
    List<String> argb = g.ids("driving_argb");
    List<String> floats = g.ids("driving");
    assertEquals(argb.size(), floats.size());
    for (int i = 0; i < argb.size(); i++) {
      assertArrayEquals("driving frame " + i, g.floats(floats.get(i)),
          ImageTensors.argbToNhwc(g.ints(argb.get(i)), h, w), 0f);
    }
    List<String> frames = g.ids("frames");
    List<String> frameArgb = g.ids("frames_argb");
    for (int i = 0; i < frames.size(); i++) {
      assertArrayEquals("animated frame " + i, g.ints(frameArgb.get(i)),
          ImageTensors.nhwcToArgb(g.floats(frames.get(i)), h, w));
    }
  }
}
