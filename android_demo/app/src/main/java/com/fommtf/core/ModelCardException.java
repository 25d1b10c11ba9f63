package com.fommtf.core;

/** A model card that is missing, invalid or does not match its .tflite files. */
public class ModelCardException extends Exception {
  private static final long serialVersionUID = 1L;

  public ModelCardException(String message) {
    super(message);
  }
}
