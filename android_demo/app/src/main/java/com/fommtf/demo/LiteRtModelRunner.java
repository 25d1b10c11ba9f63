package com.fommtf.demo;

import com.fommtf.core.ModelCard;
import com.fommtf.core.ModelRunner;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.MappedByteBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.tensorflow.lite.Interpreter;
import org.tensorflow.lite.gpu.CompatibilityList;
import org.tensorflow.lite.gpu.GpuDelegate;

/**
 * {@link ModelRunner} over LiteRT's Interpreter: one signature of one .tflite file.
 * GPU delegate when the device supports it (ops it cannot take stay on the CPU),
 * otherwise, or if the delegate fails to initialise, XNNPACK on the CPU.
 */
public final class LiteRtModelRunner implements ModelRunner {
  private final Interpreter interpreter;
  private final GpuDelegate gpu;
  private final ModelCard.ModelSpec spec;
  public final String backend;

  private LiteRtModelRunner(Interpreter interpreter, GpuDelegate gpu,
      ModelCard.ModelSpec spec, String backend) {
    this.interpreter = interpreter;
    this.gpu = gpu;
    this.spec = spec;
    this.backend = backend;
  }

  public static LiteRtModelRunner create(MappedByteBuffer model, ModelCard.ModelSpec spec,
      boolean tryGpu, int threads) {
    if (tryGpu) {
      CompatibilityList compatibility = new CompatibilityList();
      if (compatibility.isDelegateSupportedOnThisDevice()) {
        GpuDelegate delegate = null;
        try {
          delegate = new GpuDelegate(compatibility.getBestOptionsForThisDevice());
          Interpreter.Options options = new Interpreter.Options().addDelegate(delegate);
          return new LiteRtModelRunner(new Interpreter(model, options), delegate, spec, "GPU");
        } catch (RuntimeException | UnsatisfiedLinkError e) {
          if (delegate != null) {
            delegate.close();
          }
        }
      }
    }
    Interpreter.Options options =
        new Interpreter.Options().setNumThreads(threads).setUseXNNPACK(true);
    return new LiteRtModelRunner(new Interpreter(model, options), null, spec, "XNNPACK");
  }

  /** Input shapes of the file's signature, for {@link ModelCard#checkInputs}. */
  public Map<String, int[]> inputShapes() {
    Map<String, int[]> out = new HashMap<>();
    for (String name : interpreter.getSignatureInputs(spec.signature)) {
      out.put(name, interpreter.getInputTensorFromSignature(name, spec.signature).shape());
    }
    return out;
  }

  @Override
  public Map<String, float[]> run(Map<String, float[]> inputs) {
    Map<String, Object> in = new HashMap<>();
    for (Map.Entry<String, float[]> e : inputs.entrySet()) {
      ByteBuffer buffer = ByteBuffer.allocateDirect(e.getValue().length * 4)
          .order(ByteOrder.nativeOrder());
      buffer.asFloatBuffer().put(e.getValue());
      in.put(e.getKey(), buffer);
    }
    Map<String, Object> out = new HashMap<>();
    for (ModelCard.TensorSpec t : spec.outputs) {
      out.put(t.name, ByteBuffer.allocateDirect(t.size() * 4).order(ByteOrder.nativeOrder()));
    }
    interpreter.runSignature(in, out, spec.signature);
    Map<String, float[]> result = new LinkedHashMap<>();
    for (ModelCard.TensorSpec t : spec.outputs) {
      ByteBuffer buffer = (ByteBuffer) out.get(t.name);
      buffer.rewind();
      FloatBuffer floats = buffer.asFloatBuffer();
      float[] values = new float[t.size()];
      floats.get(values);
      result.put(t.name, values);
    }
    return result;
  }

  @Override
  public void close() {
    interpreter.close();
    if (gpu != null) {
      gpu.close();
    }
  }
}
