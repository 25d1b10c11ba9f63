package com.fommtf.core;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small JSON reader (objects to {@code Map<String, Object>}, arrays to {@code
 * List<Object>}, numbers to {@code Double}, plus strings, booleans and null), so the
 * model card parses the same on the JVM and on Android without org.json.
 */
public final class Json {
  private final String text;
  private int pos;

  private Json(String text) {
    this.text = text;
  }

  /** Parses one JSON document; IllegalArgumentException with the offset if invalid. */
  public static Object parse(String text) {
    Json reader = new Json(text);
    reader.skipSpace();
    Object value = reader.value();
    reader.skipSpace();
    if (reader.pos != text.length()) {
      throw reader.error("trailing characters");
    }
    return value;
  }

  private IllegalArgumentException error(String what) {
    return new IllegalArgumentException("invalid JSON at offset " + pos + ": " + what);
  }

  private void skipSpace() {
    while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) {
      pos++;
    }
  }

  private char peek() {
    if (pos >= text.length()) {
      throw error("unexpected end");
    }
    return text.charAt(pos);
  }

  private Object value() {
    char c = peek();
    switch (c) {
      case '{':
        return object();
      case '[':
        return array();
      case '"':
        return string();
      case 't':
        return literal("true", Boolean.TRUE);
      case 'f':
        return literal("false", Boolean.FALSE);
      case 'n':
        return literal("null", null);
      default:
        if (c == '-' || (c >= '0' && c <= '9')) {
          return number();
        }
        throw error("unexpected '" + c + "'");
    }
  }

  private Object literal(String word, Object value) {
    if (!text.startsWith(word, pos)) {
      throw error("expected " + word);
    }
    pos += word.length();
    return value;
  }

  private Double number() {
    int start = pos;
    while (pos < text.length() && "+-0123456789.eE".indexOf(text.charAt(pos)) >= 0) {
      pos++;
    }
    try {
      return Double.valueOf(text.substring(start, pos));
    } catch (NumberFormatException e) {
      pos = start;
      throw error("bad number");
    }
  }

  private String string() {
    StringBuilder out = new StringBuilder();
    pos++; // opening quote
    while (true) {
      char c = peek();
      pos++;
      if (c == '"') {
        return out.toString();
      }
      if (c != '\\') {
        out.append(c);
        continue;
      }
      char e = peek();
      pos++;
      switch (e) {
        case 'n': out.append('\n'); break;
        case 't': out.append('\t'); break;
        case 'r': out.append('\r'); break;
        case 'b': out.append('\b'); break;
        case 'f': out.append('\f'); break;
        case 'u':
          if (pos + 4 > text.length()) {
            throw error("bad \\u escape");
          }
          out.append((char) Integer.parseInt(text.substring(pos, pos + 4), 16));
          pos += 4;
          break;
        default: out.append(e);
      }
    }
  }

  /** Steps over an opening bracket; true (and past {@code close}) when empty. */
  private boolean opensEmpty(char close) {
    pos++;
    skipSpace();
    if (peek() != close) {
      return false;
    }
    pos++;
    return true;
  }

  private List<Object> array() {
    List<Object> out = new ArrayList<>();
    if (opensEmpty(']')) {
      return out;
    }
    while (true) {
      skipSpace();
      out.add(value());
      if (closes(']')) {
        return out;
      }
    }
  }

  /** After an element: true past {@code close}, false past a comma. */
  private boolean closes(char close) {
    skipSpace();
    char c = peek();
    pos++;
    if (c == close) {
      return true;
    }
    if (c != ',') {
      throw error("expected , or " + close);
    }
    return false;
  }

  private Map<String, Object> object() {
    Map<String, Object> out = new LinkedHashMap<>();
    if (opensEmpty('}')) {
      return out;
    }
    while (true) {
      skipSpace();
      if (peek() != '"') {
        throw error("expected a key");
      }
      String key = string();
      skipSpace();
      if (peek() != ':') {
        throw error("expected :");
      }
      pos++;
      skipSpace();
      out.put(key, value());
      if (closes('}')) {
        return out;
      }
    }
  }
}
