package com.fommtf.core;

import java.util.Map;

/**
 * One signature of one .tflite file: named float32 inputs in, named float32 outputs
 * out (flat arrays in the card's shapes). On Android it is LiteRT's Interpreter
 * ({@code com.fommtf.demo.LiteRtModelRunner}); in the JVM tests a recording fake.
 */
public interface ModelRunner extends AutoCloseable {
  Map<String, float[]> run(Map<String, float[]> inputs) throws Exception;

  @Override
  default void close() {}
}
