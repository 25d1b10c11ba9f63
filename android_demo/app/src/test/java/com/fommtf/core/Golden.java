package com.fommtf.core;

import static org.junit.Assume.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Golden values written by {@code android_demo/tools/write_golden.py} (the Python
 * LiteRT runner on the bundled sample), found through {@code -Dfomm.golden=DIR}.
 * Without that property the golden tests are skipped, unless
 * {@code -Dfomm.golden.required=true} (how CI runs them) makes that a failure.
 */
final class Golden {
  final Path dir;
  final Map<String, Object> index;

  private Golden(Path dir) throws IOException {
    this.dir = dir;
    this.index = Golden.<Map<String, Object>>cast(Json.parse(read("golden.json")));
  }

  static Golden load() throws IOException {
    String where = System.getProperty("fomm.golden");
    if (where == null) {
      if (Boolean.getBoolean("fomm.golden.required")) {
        throw new AssertionError("-Dfomm.golden=DIR is required (write_golden.py)");
      }
      assumeTrue("no -Dfomm.golden: golden tests skipped", false);
    }
    return new Golden(Paths.get(where));
  }

  @SuppressWarnings("unchecked")
  static <T> T cast(Object value) {
    return (T) value;
  }

  String read(String name) throws IOException {
    return new String(Files.readAllBytes(dir.resolve(name)), StandardCharsets.UTF_8);
  }

  Map<String, Object> expectedCard() {
    return cast(index.get("expected_card"));
  }

  List<Map<String, Object>> calls() {
    return cast(index.get("calls"));
  }

  private ByteBuffer bytes(String id) throws IOException {
    Map<String, Object> tensors = cast(index.get("tensors"));
    Map<String, Object> entry = cast(tensors.get(id));
    byte[] data = Files.readAllBytes(dir.resolve((String) entry.get("file")));
    return ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
  }

  float[] floats(String id) throws IOException {
    ByteBuffer b = bytes(id);
    float[] out = new float[b.remaining() / 4];
    b.asFloatBuffer().get(out);
    return out;
  }

  int[] ints(String id) throws IOException {
    ByteBuffer b = bytes(id);
    int[] out = new int[b.remaining() / 4];
    b.asIntBuffer().get(out);
    return out;
  }

  float[] floatsAt(String key) throws IOException {
    return floats((String) index.get(key));
  }

  int[] intsAt(String key) throws IOException {
    return ints((String) index.get(key));
  }

  List<String> ids(String key) {
    List<Object> items = cast(index.get(key));
    List<String> out = new ArrayList<>();
    for (Object item : items) {
      out.add((String) item);
    }
    return out;
  }

  ModelCard card() throws IOException, ModelCardException {
    return ModelCard.parse(read("model_card.json"));
  }
}
