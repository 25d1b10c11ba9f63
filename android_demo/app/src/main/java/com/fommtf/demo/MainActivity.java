package com.fommtf.demo;

import android.Manifest;
import android.content.pm.PackageManager;
import android.content.res.AssetFileDescriptor;
import android.graphics.Bitmap;
import android.graphics.ImageDecoder;
import android.graphics.Matrix;
import android.media.MediaMetadataRetriever;
import android.net.Uri;
import android.os.Bundle;
import android.widget.ImageView;
import android.widget.TextView;
import androidx.activity.result.ActivityResultLauncher;
import androidx.activity.result.contract.ActivityResultContracts;
import androidx.appcompat.app.AppCompatActivity;
import androidx.camera.core.CameraSelector;
import androidx.camera.core.ImageAnalysis;
import androidx.camera.core.ImageProxy;
import androidx.camera.lifecycle.ProcessCameraProvider;
import androidx.core.content.ContextCompat;
import com.fommtf.core.Animator;
import com.fommtf.core.ImageTensors;
import com.fommtf.core.ModelCard;
import com.fommtf.core.ModelRunner;
import com.fommtf.core.Timings;
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Thin Android shell over {@code com.fommtf.core}: pick a photo, drive it with the
 * front camera (CameraX) or a gallery video; models from assets/models/ (copied by
 * copy_models.sh); source keypoints and features once, per frame keypoints and the
 * frame generator; frames per second and per-model latency on screen.
 */
public class MainActivity extends AppCompatActivity {
  private static final String MODELS = "models/";
  private final ExecutorService inference = Executors.newSingleThreadExecutor();
  private ModelCard card;
  private Animator animator;
  private final Map<String, ModelRunner> runners = new HashMap<>();
  private volatile boolean stop;
  private volatile boolean hasSource;
  private ProcessCameraProvider cameraProvider;
  private TextView status;
  private TextView fps;
  private ImageView sourceView;
  private ImageView drivingView;
  private ImageView resultView;

  private final ActivityResultLauncher<String> pickPhoto = registerForActivityResult(
      new ActivityResultContracts.GetContent(), uri -> { if (uri != null) setSource(uri); });
  private final ActivityResultLauncher<String> pickVideo = registerForActivityResult(
      new ActivityResultContracts.GetContent(), uri -> { if (uri != null) playVideo(uri); });
  private final ActivityResultLauncher<String> cameraPermission = registerForActivityResult(
      new ActivityResultContracts.RequestPermission(),
      granted -> { if (granted) startCamera(); else say("camera permission denied"); });

  @Override
  protected void onCreate(Bundle state) {
    super.onCreate(state);
    setContentView(R.layout.activity_main);
    status = findViewById(R.id.status);
    fps = findViewById(R.id.fps);
    sourceView = findViewById(R.id.source);
    drivingView = findViewById(R.id.driving);
    resultView = findViewById(R.id.result);
    findViewById(R.id.pick_photo).setOnClickListener(v -> pickPhoto.launch("image/*"));
    findViewById(R.id.pick_video).setOnClickListener(v -> pickVideo.launch("video/*"));
    findViewById(R.id.camera).setOnClickListener(v -> {
      if (ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA)
          == PackageManager.PERMISSION_GRANTED) {
        startCamera();
      } else {
        cameraPermission.launch(Manifest.permission.CAMERA);
      }
    });
    findViewById(R.id.stop).setOnClickListener(v -> stopDriving());
    inference.execute(this::loadModels);
  }

  private void loadModels() {
    try {
      card = ModelCard.parse(readAsset(MODELS + "model_card.json"));
      String backends = "";
      for (String name : card.needed) {
        ModelCard.ModelSpec spec = card.models.get(name);
        LiteRtModelRunner runner = LiteRtModelRunner.create(mapAsset(MODELS + spec.file), spec,
            true, Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())));
        card.checkInputs(name, runner.inputShapes());
        runners.put(name, runner);
        backends += " " + name + ":" + runner.backend;
      }
      animator = new Animator(card, runners, new Timings(System::nanoTime));
      say(card.mode + " " + card.width + "x" + card.height + "," + backends
          + ". Pick a photo.");
    } catch (IOException e) {
      say("No models in the APK: run android_demo/copy_models.sh EXPORT_DIR, rebuild ("
          + e.getMessage() + ")");
    } catch (Exception e) {
      say("error: " + e.getMessage());
    }
  }

  private String readAsset(String path) throws IOException {
    try (InputStream in = getAssets().open(path)) {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      byte[] block = new byte[8192];
      for (int n; (n = in.read(block)) > 0; ) {
        bytes.write(block, 0, n);
      }
      return bytes.toString(StandardCharsets.UTF_8.name());
    }
  }

  private MappedByteBuffer mapAsset(String path) throws IOException {
    try (AssetFileDescriptor fd = getAssets().openFd(path);
        FileInputStream in = new FileInputStream(fd.getFileDescriptor());
        FileChannel channel = in.getChannel()) {
      return channel.map(FileChannel.MapMode.READ_ONLY, fd.getStartOffset(),
          fd.getDeclaredLength());
    }
  }

  private void say(String text) {
    runOnUiThread(() -> status.setText(text));
  }

  /** Scaled to the model's frame (whole picture, as python -m fomm_tf.animate). */
  private float[] toTensor(Bitmap bitmap) {
    Bitmap scaled = Bitmap.createScaledBitmap(
        bitmap.copy(Bitmap.Config.ARGB_8888, false), card.width, card.height, true);
    int[] pixels = new int[card.width * card.height];
    scaled.getPixels(pixels, 0, card.width, 0, 0, card.width, card.height);
    return ImageTensors.argbToNhwc(pixels, card.height, card.width);
  }

  private Bitmap toBitmap(float[] tensor) {
    int[] pixels = ImageTensors.nhwcToArgb(tensor, card.height, card.width);
    return Bitmap.createBitmap(pixels, card.width, card.height, Bitmap.Config.ARGB_8888);
  }

  private void setSource(Uri uri) {
    if (animator == null) {
      say("models not loaded");
      return;
    }
    inference.execute(() -> {
      try {
        Bitmap bitmap = ImageDecoder.decodeBitmap(
            ImageDecoder.createSource(getContentResolver(), uri),
            (decoder, info, source) -> decoder.setAllocator(ImageDecoder.ALLOCATOR_SOFTWARE));
        float[] tensor = toTensor(bitmap);
        animator.setSource(tensor);
        hasSource = true;
        Bitmap shown = toBitmap(tensor);
        runOnUiThread(() -> sourceView.setImageBitmap(shown));
        say("Source set: pick a video or start the camera.");
      } catch (Exception e) {
        say("error: cannot read that photo (" + e.getMessage() + ")");
      }
    });
  }

  /** One driving frame through the loop; shows driving, result and the timings. */
  private void animate(Bitmap driving) throws Exception {
    float[] tensor = toTensor(driving);
    Bitmap result = toBitmap(animator.frame(tensor));
    Bitmap shown = toBitmap(tensor);
    String text = animator.timings().summary(card.needed);
    runOnUiThread(() -> {
      drivingView.setImageBitmap(shown);
      resultView.setImageBitmap(result);
      fps.setText(text);
    });
  }

  private boolean ready() {
    if (!hasSource) {
      say("pick a photo first");
      return false;
    }
    return true;
  }

  private void playVideo(Uri uri) {
    if (!ready()) {
      return;
    }
    stopDriving();
    stop = false;
    inference.execute(() -> {
      MediaMetadataRetriever retriever = new MediaMetadataRetriever();
      try {
        retriever.setDataSource(this, uri);
        String count = retriever.extractMetadata(
            MediaMetadataRetriever.METADATA_KEY_VIDEO_FRAME_COUNT);
        int frames = count == null ? 0 : Integer.parseInt(count);
        animator.resetDriving();
        for (int i = 0; i < frames && !stop; i++) {
          animate(retriever.getFrameAtIndex(i));
        }
        say("Video done (" + frames + " frames).");
      } catch (Exception e) {
        say("error: cannot decode that video (" + e.getMessage() + ")");
      } finally {
        try {
          retriever.release();
        } catch (IOException ignored) {
          // nothing to release
        }
      }
    });
  }

  private void startCamera() {
    if (!ready()) {
      return;
    }
    stopDriving();
    stop = false;
    var future = ProcessCameraProvider.getInstance(this);
    future.addListener(() -> {
      try {
        cameraProvider = future.get();
        ImageAnalysis analysis = new ImageAnalysis.Builder()
            .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)
            .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
            .build();
        inference.execute(animator::resetDriving);
        analysis.setAnalyzer(inference, this::analyze);
        cameraProvider.unbindAll();
        cameraProvider.bindToLifecycle(this, CameraSelector.DEFAULT_FRONT_CAMERA, analysis);
        say("Camera: move your face. Stop ends it.");
      } catch (Exception e) {
        say("error: no front camera (" + e.getMessage() + ")");
      }
    }, ContextCompat.getMainExecutor(this));
  }

  private void analyze(ImageProxy image) {
    try {
      Bitmap frame = image.toBitmap();
      Matrix turn = new Matrix();
      turn.postRotate(image.getImageInfo().getRotationDegrees());
      turn.postScale(-1, 1); // front camera: show it as a mirror
      int side = Math.min(frame.getWidth(), frame.getHeight());
      Bitmap square = Bitmap.createBitmap(frame, (frame.getWidth() - side) / 2,
          (frame.getHeight() - side) / 2, side, side, turn, true);
      if (!stop) {
        animate(square);
      }
    } catch (Exception e) {
      say("error: " + e.getMessage());
    } finally {
      image.close();
    }
  }

  private void stopDriving() {
    stop = true;
    if (cameraProvider != null) {
      cameraProvider.unbindAll();
    }
  }

  @Override
  protected void onDestroy() {
    stopDriving();
    inference.execute(() -> {
      for (ModelRunner runner : runners.values()) {
        runner.close();
      }
    });
    inference.shutdown();
    super.onDestroy();
  }
}
