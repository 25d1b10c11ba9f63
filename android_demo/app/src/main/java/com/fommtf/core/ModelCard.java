package com.fommtf.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The export's {@code model_card.json} (written by {@code python -m export.tflite}):
 * the one source of frame shape, model files, tensor names and shapes, keypoint
 * convention and normalisation flags. Mirrors the checks of the web demo.
 */
public final class ModelCard {
  public static final String FORMAT = "fomm-tf tflite export";

  /** One tensor of a model's signature. */
  public static final class TensorSpec {
    public final String name;
    public final int[] shape;
    public final String dtype;

    TensorSpec(String name, int[] shape, String dtype) {
      this.name = name;
      this.shape = shape;
      this.dtype = dtype;
    }

    public int size() {
      int n = 1;
      for (int d : shape) {
        n *= d;
      }
      return n;
    }
  }

  /** One .tflite file and its signature. */
  public static final class ModelSpec {
    public final String file;
    public final String signature;
    public final List<TensorSpec> inputs;
    public final List<TensorSpec> outputs;

    ModelSpec(String file, String signature, List<TensorSpec> inputs,
        List<TensorSpec> outputs) {
      this.file = file;
      this.signature = signature;
      this.inputs = inputs;
      this.outputs = outputs;
    }

    public TensorSpec input(String name) {
      for (TensorSpec t : inputs) {
        if (t.name.equals(name)) {
          return t;
        }
      }
      return null;
    }
  }

  public final String mode;
  public final String layout;
  public final int height;
  public final int width;
  public final int numKp;
  public final String keypointConvention;
  public final List<String> flagOrder;
  public final float[] flagDefault;
  public final Map<String, ModelSpec> models;
  /** The models this layout runs, in load order. */
  public final List<String> needed;
  /** {@code frame_generator} (layout split) or {@code generator} (single). */
  public final String generatorName;

  private ModelCard(Map<String, Object> card) throws ModelCardException {
    if (!FORMAT.equals(card.get("format"))) {
      throw new ModelCardException("model_card.json: format is " + card.get("format")
          + ", expected \"" + FORMAT + "\" (write it with python -m export.tflite)");
    }
    int[] frame = ints(card.get("frame_shape"), "frame_shape");
    if (frame.length != 3 || frame[0] < 1 || frame[1] < 1 || frame[2] != 3) {
      throw new ModelCardException(
          "model_card.json: frame_shape " + Arrays.toString(frame) + " is not [H, W, 3]");
    }
    height = frame[0];
    width = frame[1];
    mode = string(card, "mode");
    layout = string(card, "layout");
    if ("split".equals(layout)) {
      needed = Arrays.asList("keypoint_detector", "source_encoder", "frame_generator");
      generatorName = "frame_generator";
    } else if ("single".equals(layout)) {
      needed = Arrays.asList("keypoint_detector", "generator");
      generatorName = "generator";
    } else {
      throw new ModelCardException("model_card.json: unknown layout " + layout);
    }
    Object kp = card.get("num_kp");
    numKp = kp instanceof Double ? ((Double) kp).intValue() : -1;
    keypointConvention = String.valueOf(card.get("keypoint_convention"));
    Map<String, Object> flags = map(card.get("normalization_flags"), "normalization_flags");
    List<String> order = new ArrayList<>();
    for (Object name : list(flags.get("order"), "normalization_flags.order")) {
      order.add(String.valueOf(name));
    }
    flagOrder = Collections.unmodifiableList(order);
    List<Object> defaults = list(flags.get("config_default"), "normalization_flags");
    if (defaults.size() != order.size()) {
      throw new ModelCardException(
          "model_card.json: normalization_flags order and config_default differ in length");
    }
    flagDefault = new float[defaults.size()];
    for (int i = 0; i < defaults.size(); i++) {
      flagDefault[i] = ((Number) defaults.get(i)).floatValue();
    }
    Map<String, ModelSpec> byName = new LinkedHashMap<>();
    for (Object entry : list(card.get("models"), "models")) {
      Map<String, Object> m = map(entry, "models entry");
      ModelSpec spec = new ModelSpec(string(m, "file"), string(m, "signature"),
          tensors(m.get("inputs")), tensors(m.get("outputs")));
      byName.put(spec.signature, spec);
    }
    models = Collections.unmodifiableMap(byName);
    int[] image = {1, height, width, 3};
    for (String name : needed) {
      ModelSpec spec = models.get(name);
      if (spec == null) {
        throw new ModelCardException(
            "model_card.json: layout " + layout + " needs model " + name);
      }
      List<TensorSpec> all = new ArrayList<>(spec.inputs);
      all.addAll(spec.outputs);
      for (TensorSpec t : all) {
        if (!"float32".equals(t.dtype)) {
          throw new ModelCardException("model_card.json: " + name + " tensor " + t.name
              + " is " + t.dtype + ", expected float32");
        }
        if ((t.name.equals("image") || t.name.equals("source"))
            && !Arrays.equals(t.shape, image)) {
          throw new ModelCardException("model_card.json: frame_shape "
              + Arrays.toString(frame) + " does not match " + name + " input " + t.name
              + " of shape " + Arrays.toString(t.shape));
        }
      }
    }
    if (models.get(generatorName).input("normalization_flags") == null) {
      throw new ModelCardException(
          "model_card.json: " + generatorName + " has no normalization_flags input");
    }
  }

  /** Parses and checks the text of a model_card.json. */
  public static ModelCard parse(String json) throws ModelCardException {
    Object root;
    try {
      root = Json.parse(json);
    } catch (IllegalArgumentException e) {
      throw new ModelCardException("model_card.json: " + e.getMessage());
    }
    if (!(root instanceof Map)) {
      throw new ModelCardException("model_card.json: not a model card (not an object)");
    }
    try {
      @SuppressWarnings("unchecked")
      Map<String, Object> card = (Map<String, Object>) root;
      return new ModelCard(card);
    } catch (ClassCastException | NullPointerException e) {
      throw new ModelCardException("model_card.json: malformed (" + e.getMessage() + ")");
    }
  }

  /**
   * The interpreter's actual input shapes (by tensor name) must be the card's; a
   * one-line ModelCardException naming the file and tensor otherwise.
   */
  public void checkInputs(String model, Map<String, int[]> actual) throws ModelCardException {
    ModelSpec spec = models.get(model);
    for (TensorSpec t : spec.inputs) {
      int[] found = actual.get(t.name);
      if (found == null) {
        throw new ModelCardException("model_card.json lists input " + t.name + " of "
            + spec.file + ", but the file has " + actual.keySet());
      }
      if (!Arrays.equals(found, t.shape)) {
        throw new ModelCardException("model_card.json says " + spec.file + " input "
            + t.name + " is " + Arrays.toString(t.shape) + ", the file says "
            + Arrays.toString(found));
      }
    }
    if (actual.size() != spec.inputs.size()) {
      throw new ModelCardException(spec.file + " has " + actual.size()
          + " inputs, model_card.json lists " + spec.inputs.size());
    }
  }

  private static List<TensorSpec> tensors(Object value) throws ModelCardException {
    List<TensorSpec> out = new ArrayList<>();
    for (Object item : list(value, "tensor list")) {
      Map<String, Object> t = map(item, "tensor");
      out.add(new TensorSpec(string(t, "name"), ints(t.get("shape"), "shape"),
          string(t, "dtype")));
    }
    return Collections.unmodifiableList(out);
  }

  private static String string(Map<String, Object> m, String key)
      throws ModelCardException {
    Object v = m.get(key);
    if (!(v instanceof String)) {
      throw new ModelCardException("model_card.json: missing or non-text " + key);
    }
    return (String) v;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object v, String what) throws ModelCardException {
    if (!(v instanceof Map)) {
      throw new ModelCardException("model_card.json: " + what + " is not an object");
    }
    return (Map<String, Object>) v;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object v, String what) throws ModelCardException {
    if (!(v instanceof List)) {
      throw new ModelCardException("model_card.json: " + what + " is not a list");
    }
    return (List<Object>) v;
  }

  private static int[] ints(Object v, String what) throws ModelCardException {
    List<Object> items = list(v, what);
    int[] out = new int[items.size()];
    for (int i = 0; i < out.length; i++) {
      if (!(items.get(i) instanceof Double)) {
        throw new ModelCardException("model_card.json: " + what + " is not a list of ints");
      }
      out[i] = ((Double) items.get(i)).intValue();
    }
    return out;
  }
}
