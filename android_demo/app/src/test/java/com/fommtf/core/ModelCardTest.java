package com.fommtf.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.Test;

public class ModelCardTest {
  /** Every field the app reads equals what Python read from the same card. */
  @Test
  public void goldenCardFieldsEqualPythons() throws Exception {
    Golden golden = Golden.load();
    ModelCard card = golden.card();
    Map<String, Object> expected = golden.expectedCard();
    List<Object> frame = Golden.cast(expected.get("frame_shape"));
    assertEquals(((Double) frame.get(0)).intValue(), card.height);
    assertEquals(((Double) frame.get(1)).intValue(), card.width);
    assertEquals(((Double) expected.get("num_kp")).intValue(), card.numKp);
    assertEquals(expected.get("layout"), card.layout);
    assertEquals(expected.get("mode"), card.mode);
    assertEquals(expected.get("flag_order"), card.flagOrder);
    List<Object> defaults = Golden.cast(expected.get("flag_default"));
    float[] flags = new float[defaults.size()];
    for (int i = 0; i < flags.length; i++) {
      flags[i] = ((Double) defaults.get(i)).floatValue();
    }
    assertArrayEquals(flags, card.flagDefault, 0f);
    Map<String, Object> files = Golden.cast(expected.get("files"));
    Map<String, Object> inputs = Golden.cast(expected.get("inputs"));
    assertEquals(files.keySet(), card.models.keySet());
    for (String name : card.models.keySet()) {
      assertEquals(files.get(name), card.models.get(name).file);
      List<String> names = new ArrayList<>();
      for (ModelCard.TensorSpec t : card.models.get(name).inputs) {
        names.add(t.name);
      }
      assertEquals(inputs.get(name), names);
    }
  }

  @Test
  public void interpreterShapesMustMatchTheCard() throws Exception {
    ModelCard card = Golden.load().card();
    Map<String, int[]> actual = new HashMap<>();
    for (ModelCard.TensorSpec t : card.models.get("keypoint_detector").inputs) {
      actual.put(t.name, t.shape.clone());
    }
    card.checkInputs("keypoint_detector", actual);
    actual.put("image", new int[] {1, 32, 32, 3});
    ModelCardException e = assertThrows(ModelCardException.class,
        () -> card.checkInputs("keypoint_detector", actual));
    assertTrue(e.getMessage(), e.getMessage().startsWith(
        "model_card.json says keypoint_detector.tflite input image is [1, "));
    assertTrue(e.getMessage(), e.getMessage().endsWith("the file says [1, 32, 32, 3]"));
  }

  private static String card(String frameShape, String layout, String imageShape) {
    return "{\"format\": \"fomm-tf tflite export\", \"mode\": \"float32\", \"layout\": \""
        + layout + "\", \"frame_shape\": " + frameShape + ", \"num_kp\": 2,"
        + "\"normalization_flags\": {\"order\": [\"a\", \"b\", \"c\"],"
        + " \"config_default\": [1, 0, 1]},"
        + "\"models\": [{\"file\": \"kp.tflite\", \"signature\": \"keypoint_detector\","
        + " \"inputs\": [{\"name\": \"image\", \"shape\": " + imageShape
        + ", \"dtype\": \"float32\"}], \"outputs\": []},"
        + "{\"file\": \"g.tflite\", \"signature\": \"generator\", \"inputs\": ["
        + "{\"name\": \"normalization_flags\", \"shape\": [3], \"dtype\": \"float32\"}],"
        + " \"outputs\": []}]}";
  }

  @Test
  public void parsesAHandWrittenCard() throws Exception {
    ModelCard c = ModelCard.parse(card("[8, 6, 3]", "single", "[1, 8, 6, 3]"));
    assertEquals(8, c.height);
    assertEquals(6, c.width);
    assertEquals("generator", c.generatorName);
    assertArrayEquals(new float[] {1, 0, 1}, c.flagDefault, 0f);
  }

  private static String error(String json) {
    return assertThrows(ModelCardException.class, () -> ModelCard.parse(json)).getMessage();
  }

  @Test
  public void badCardsGiveOneLineErrors() {
    assertEquals("model_card.json: frame_shape [8, 8, 3] does not match keypoint_detector"
        + " input image of shape [1, 8, 6, 3]",
        error(card("[8, 8, 3]", "single", "[1, 8, 6, 3]")));
    assertEquals("model_card.json: layout split needs model source_encoder",
        error(card("[8, 6, 3]", "split", "[1, 8, 6, 3]")));
    assertEquals("model_card.json: frame_shape [8, 6] is not [H, W, 3]",
        error(card("[8, 6]", "single", "[1, 8, 6, 3]")));
    assertTrue(error("{\"format\": \"other\"}").startsWith("model_card.json: format is"));
    assertTrue(error("[1]").contains("not a model card"));
    assertTrue(error("{oops").startsWith("model_card.json: invalid JSON at offset 1"));
    for (String message : new String[] {error("{oops"), error("[1]")}) {
      assertTrue(message, !message.contains("\n"));
    }
  }
}
