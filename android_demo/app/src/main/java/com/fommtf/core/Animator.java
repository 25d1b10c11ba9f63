package com.fommtf.core;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The per-frame loop over an export, what {@code export.litert_runner.LiteRTRunner}
 * does in Python: source keypoints and (layout split) source features computed once
 * per source image and cached; per driving frame the keypoint detector and the
 * frame generator, whose inputs are named by the model card; the first driving
 * frame after {@link #resetDriving} gives the initial keypoints; the keypoint
 * normalisation runs inside the generator graph with the flags vector in the card's
 * order.
 */
public final class Animator {
  private final ModelCard card;
  private final Map<String, ModelRunner> runners;
  private final Timings timings;
  private float[] source;
  private Map<String, float[]> kpSource;
  private float[] features;
  private Map<String, float[]> kpInitial;
  private float[] flags;

  public Animator(ModelCard card, Map<String, ModelRunner> runners, Timings timings) {
    for (String name : card.needed) {
      if (!runners.containsKey(name)) {
        throw new IllegalArgumentException("no runner for model " + name);
      }
    }
    this.card = card;
    this.runners = runners;
    this.timings = timings;
    this.flags = card.flagDefault.clone();
  }

  public Timings timings() {
    return timings;
  }

  /** Flags by name (missing names keep the card's config_default). */
  public void setFlags(Map<String, Boolean> byName) {
    float[] out = card.flagDefault.clone();
    for (int i = 0; i < out.length; i++) {
      Boolean v = byName.get(card.flagOrder.get(i));
      if (v != null) {
        out[i] = v ? 1f : 0f;
      }
    }
    flags = out;
  }

  public float[] flags() {
    return flags.clone();
  }

  /**
   * Sets the source image (NHWC float32). Its keypoints and features are computed
   * once; setting an equal image again reuses them. Resets the initial keypoints.
   */
  public void setSource(float[] image) throws Exception {
    kpInitial = null;
    if (source != null && Arrays.equals(source, image)) {
      return;
    }
    Map<String, float[]> input = Collections.singletonMap("image", image);
    kpSource = run("keypoint_detector", input);
    features = null;
    if ("split".equals(card.layout)) {
      features = run("source_encoder", Collections.singletonMap("source", image)).get("source_features");
    }
    source = image.clone();
  }

  /** The next driving frame becomes the initial one (relative motion). */
  public void resetDriving() {
    kpInitial = null;
  }

  /** One animated frame (NHWC float32) for one driving frame. */
  public float[] frame(float[] driving) throws Exception {
    if (source == null) {
      throw new IllegalStateException("no source image set");
    }
    Map<String, float[]> kp = run("keypoint_detector", Collections.singletonMap("image", driving));
    if (kpInitial == null) {
      kpInitial = kp;
    }
    float[] out = run(card.generatorName, generatorInputs(kp)).get("prediction");
    timings.frameDone();
    return out;
  }

  Map<String, float[]> generatorInputs(Map<String, float[]> kpDriving) {
    Map<String, float[]> inputs = new LinkedHashMap<>();
    for (ModelCard.TensorSpec t : card.models.get(card.generatorName).inputs) {
      String n = t.name;
      float[] value = null;
      if (n.equals("source")) {
        value = source;
      } else if (n.equals("source_features")) {
        value = features;
      } else if (n.equals("normalization_flags")) {
        value = flags;
      } else if (n.startsWith("kp_driving_initial_")) {
        value = kpInitial.get("kp_" + n.substring("kp_driving_initial_".length()));
      } else if (n.startsWith("kp_driving_")) {
        value = kpDriving.get("kp_" + n.substring("kp_driving_".length()));
      } else if (n.startsWith("kp_source_")) {
        value = kpSource.get("kp_" + n.substring("kp_source_".length()));
      }
      if (value == null) {
        throw new IllegalStateException("no value for generator input " + n);
      }
      if (value.length != t.size()) {
        throw new IllegalStateException("generator input " + n + " has " + value.length
            + " values, model_card.json shape " + Arrays.toString(t.shape));
      }
      inputs.put(n, value);
    }
    return inputs;
  }

  private Map<String, float[]> run(String model, Map<String, float[]> inputs)
      throws Exception {
    long start = timings.now();
    Map<String, float[]> out = runners.get(model).run(inputs);
    timings.add(model, start);
    return out;
  }
}
