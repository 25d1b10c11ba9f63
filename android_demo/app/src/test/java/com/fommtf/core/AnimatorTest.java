package com.fommtf.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/**
 * The loop against the Python LiteRT runner's recorded model calls: each fake model
 * answers only when the inputs it gets equal (bit for bit) those of one of Python's
 * calls to that model, and answers with Python's outputs of that call.
 */
public class AnimatorTest {
  static final class Replay implements ModelRunner {
    final String name;
    final List<Map<String, float[]>> inputs = new ArrayList<>();
    final List<Map<String, float[]>> outputs = new ArrayList<>();
    final long[] clock;
    int calls = 0;

    Replay(String name, long[] clock) {
      this.name = name;
      this.clock = clock;
    }

    @Override
    public Map<String, float[]> run(Map<String, float[]> given) {
      calls++;
      clock[0] += 5_000_000L; // every model call takes 5 ms
      String closest = "";
      for (int i = 0; i < inputs.size(); i++) {
        Map<String, float[]> want = inputs.get(i);
        boolean same = want.keySet().equals(given.keySet());
        for (String key : want.keySet()) {
          if (same && !Arrays.equals(want.get(key), given.get(key))) {
            same = false;
            closest = key;
          }
        }
        if (same) {
          return outputs.get(i);
        }
      }
      throw new AssertionError(name + " got inputs that no Python call had (names "
          + given.keySet() + ", differing at " + closest + ")");
    }
  }

  static Map<String, ModelRunner> replays(Golden g, long[] clock) throws Exception {
    Map<String, ModelRunner> out = new HashMap<>();
    for (Map<String, Object> call : g.calls()) {
      String name = (String) call.get("signature");
      Replay r = (Replay) out.computeIfAbsent(name, n -> new Replay(n, clock));
      r.inputs.add(load(g, Golden.cast(call.get("inputs"))));
      r.outputs.add(load(g, Golden.cast(call.get("outputs"))));
    }
    return out;
  }

  static Map<String, float[]> load(Golden g, Map<String, Object> ids) throws Exception {
    Map<String, float[]> out = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : ids.entrySet()) {
      out.put(e.getKey(), g.floats((String) e.getValue()));
    }
    return out;
  }

  @Test
  public void loopMatchesPythonsCallsAndFrames() throws Exception {
    Golden g = Golden.load();
    ModelCard card = g.card();
    long[] clock = {0};
    Map<String, ModelRunner> runners = replays(g, clock);
    Animator animator = new Animator(card, runners, new Timings(() -> clock[0]));
    animator.setSource(ImageTensors.argbToNhwc(g.intsAt("source_argb"), card.height, card.width));
    List<String> driving = g.ids("driving_argb");
    List<String> frames = g.ids("frames");
    for (int i = 0; i < driving.size(); i++) {
      float[] tensor = ImageTensors.argbToNhwc(g.ints(driving.get(i)), card.height, card.width);
      assertArrayEquals("frame " + i, g.floats(frames.get(i)), animator.frame(tensor), 0f);
    }
    int n = driving.size();
    assertEquals(1 + n, ((Replay) runners.get("keypoint_detector")).calls);
    assertEquals(n, ((Replay) runners.get(card.generatorName)).calls);
    if (card.layout.equals("split")) {
      assertEquals(1, ((Replay) runners.get("source_encoder")).calls);
    }
    // Same source again: cached, no model runs; the next frame is the new initial one.
    animator.setSource(ImageTensors.argbToNhwc(g.intsAt("source_argb"), card.height, card.width));
    assertEquals(1 + n, ((Replay) runners.get("keypoint_detector")).calls);
    Timings t = animator.timings();
    assertEquals(5.0, t.meanMs("keypoint_detector"), 1e-9);
    assertEquals(5.0, t.lastMs(card.generatorName), 1e-9);
    assertEquals(n, t.frames());
    assertEquals(1e3 / 10.0, t.fps(), 1e-9); // 2 calls of 5 ms per frame
    assertArrayEquals(card.flagDefault, animator.flags(), 0f);
  }

  @Test
  public void otherFlagsAreNotPythonsCall() throws Exception {
    Golden g = Golden.load();
    ModelCard card = g.card();
    long[] clock = {0};
    Animator animator = new Animator(card, replays(g, clock), new Timings(() -> clock[0]));
    Map<String, Boolean> flags = new HashMap<>();
    flags.put(card.flagOrder.get(0), card.flagDefault[0] == 0f); // flip the first flag
    animator.setFlags(flags);
    animator.setSource(ImageTensors.argbToNhwc(g.intsAt("source_argb"), card.height, card.width));
    float[] frame = ImageTensors.argbToNhwc(g.ints(g.ids("driving_argb").get(0)),
        card.height, card.width);
    AssertionError e = assertThrows(AssertionError.class, () -> animator.frame(frame));
    assertEquals(card.generatorName + " got inputs that no Python call had", e.getMessage()
        .substring(0, e.getMessage().indexOf(" (")));
  }

  @Test
  public void needsEveryModelAndASource() throws Exception {
    Golden g = Golden.load();
    ModelCard card = g.card();
    assertThrows(IllegalArgumentException.class,
        () -> new Animator(card, new HashMap<>(), new Timings(System::nanoTime)));
    long[] clock = {0};
    Animator animator = new Animator(card, replays(g, clock), new Timings(() -> clock[0]));
    assertThrows(IllegalStateException.class, () -> animator.frame(new float[3]));
  }
}
