package com.fommtf.core;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/** Per-model latency (last and mean ms) and frames per second over a clock. */
public final class Timings {
  private final LongSupplier nanos;
  private final Map<String, double[]> stats = new LinkedHashMap<>(); // last, total, count
  private long firstFrame = -1;
  private long lastFrame = -1;
  private int frames = 0;

  public Timings(LongSupplier nanos) {
    this.nanos = nanos;
  }

  public long now() {
    return nanos.getAsLong();
  }

  public void add(String model, long startNanos) {
    double ms = (now() - startNanos) / 1e6;
    double[] s = stats.computeIfAbsent(model, k -> new double[3]);
    s[0] = ms;
    s[1] += ms;
    s[2] += 1;
  }

  /** Marks a finished frame (for frames per second). */
  public void frameDone() {
    long t = now();
    if (firstFrame < 0) {
      firstFrame = t;
    }
    lastFrame = t;
    frames++;
  }

  public int count(String model) {
    double[] s = stats.get(model);
    return s == null ? 0 : (int) s[2];
  }

  public double lastMs(String model) {
    double[] s = stats.get(model);
    return s == null ? Double.NaN : s[0];
  }

  public double meanMs(String model) {
    double[] s = stats.get(model);
    return s == null ? Double.NaN : s[1] / s[2];
  }

  /** Frames per second between the first and the last finished frame. */
  public double fps() {
    if (frames < 2 || lastFrame == firstFrame) {
      return Double.NaN;
    }
    return (frames - 1) * 1e9 / (lastFrame - firstFrame);
  }

  public int frames() {
    return frames;
  }

  /** "12.3 frames/s · keypoint_detector 4.1 ms · ..." for the screen. */
  public String summary(Iterable<String> models) {
    StringBuilder out = new StringBuilder(String.format("%.1f frames/s", fps()));
    for (String m : models) {
      if (stats.containsKey(m)) {
        out.append(String.format(" · %s %.1f ms", m, meanMs(m)));
      }
    }
    return out.toString();
  }
}
