package com.fommtf.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.Test;

public class JsonTest {
  @Test
  public void parsesNestedValues() {
    Map<String, Object> m = Golden.cast(Json.parse(
        "{\"a\": [1, -2.5e1, true, null], \"b\": {\"s\": \"x\\\"y\\u00e9\\n\"}, \"c\": []}"));
    List<Object> a = Golden.cast(m.get("a"));
    assertEquals(Arrays.asList(1.0, -25.0, true, null), a);
    Map<String, Object> b = Golden.cast(m.get("b"));
    assertEquals("x\"y\u00e9\n", b.get("s"));
    assertTrue(((List<?>) m.get("c")).isEmpty());
    assertNull(Json.parse(" null "));
  }

  @Test
  public void rejectsInvalidJson() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"a\": 1,}"));
    assertTrue(e.getMessage(), e.getMessage().equals("invalid JSON at offset 8: expected a key"));
    assertThrows(IllegalArgumentException.class, () -> Json.parse("[1 2]"));
    assertThrows(IllegalArgumentException.class, () -> Json.parse("{} x"));
    assertThrows(IllegalArgumentException.class, () -> Json.parse("\"open"));
  }
}
