// The page: loads the export named by ?model= (default model/, what
// `python -m web_demo.serve` serves), compiles it with LiteRT.js on WebAssembly,
// and animates a photo with a video file or the webcam.
import {loadAndCompile, loadLiteRt, supportsFeature, Tensor} from '@litertjs/core';

import {
  Animator, checkCompiled, DemoError, mp4VideoTiming, parseCard, rgbaToTensor,
  tensorToRgba,
} from './fomm.js';

const params = new URLSearchParams(location.search);
const MODEL_URL = new URL(params.get('model') || 'model/', location.href);
const $ = (id) => document.getElementById(id);

// State shared with tests and the benchmark (window.fommDemo).
const demo = {
  status: 'loading', error: null, card: null, threads: 0, models: {},
  frames: [], fps: 0, framesDone: 0, frameCount: 0, inputs: null, outputs: null,
};
window.fommDemo = demo;

function setStatus(text, kind = 'info') {
  const box = $('status');
  box.textContent = text;
  box.className = kind;
  if (kind === 'error') {
    demo.status = 'error';
    demo.error = text;
  }
}

function fail(error) {
  const text = error instanceof DemoError ? error.message :
    `${error && error.message ? error.message : error}`;
  setStatus(text, 'error');
  console.error(error);
}

// ---------------------------------------------------------------- runtime

async function pickThreads() {
  const asked = params.get('threads');
  const canThread = self.crossOriginIsolated && await supportsFeature('threads') &&
    await supportsFeature('relaxedSimd');
  if (asked !== null) {
    const n = Number(asked);
    if (!Number.isInteger(n) || n < 1) throw new DemoError(`?threads=${asked}: not a count`);
    if (n > 1 && !canThread) {
      throw new DemoError(
          'threaded WebAssembly is unavailable here (needs cross-origin isolation ' +
          'and WASM threads); use ?threads=1');
    }
    return n;
  }
  return canThread ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1;
}

// run(signature, {name: Float32Array}) -> {name: Float32Array} over LiteRT.js.
class LiteRtRuntime {
  constructor(compiled, card) {
    this.compiled = compiled;
    this.shapes = {};
    for (const [name, entry] of Object.entries(card.models)) {
      this.shapes[name] = Object.fromEntries(entry.inputs.map((t) => [t.name, t.shape]));
    }
  }

  async run(name, inputs) {
    const tensors = {};
    try {
      for (const [key, data] of Object.entries(inputs)) {
        tensors[key] = new Tensor(data, this.shapes[name][key]);
      }
      const outputs = await this.compiled[name].run(tensors);
      const arrays = {};
      for (const [key, tensor] of Object.entries(outputs)) {
        arrays[key] = tensor.toTypedArray();
        tensor.delete();
      }
      return arrays;
    } finally {
      for (const tensor of Object.values(tensors)) tensor.delete();
    }
  }
}

async function fetchCard() {
  const url = new URL('model_card.json', MODEL_URL);
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new DemoError(`cannot fetch ${url}: ${error.message}`);
  }
  if (!response.ok) {
    throw new DemoError(
        `no model card at ${url} (HTTP ${response.status}): serve an export mode ` +
        'directory with python -m web_demo.serve --model_dir DIR');
  }
  let json;
  try {
    json = await response.json();
  } catch (error) {
    throw new DemoError(`${url}: not valid JSON (${error.message})`);
  }
  return parseCard(json, 'model_card.json');
}

async function loadModels() {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiate !== 'function') {
    throw new DemoError(
        'this browser has no WebAssembly, which the LiteRT.js runtime needs; use a ' +
        'current Chrome, Edge, Firefox or Safari with WebAssembly enabled');
  }
  const card = await fetchCard();
  demo.card = card;
  const threads = await pickThreads();
  demo.threads = threads;
  setStatus(`Loading the LiteRT.js runtime (${threads} thread${threads > 1 ? 's' : ''}) ...`);
  try {
    await loadLiteRt(new URL('litert-wasm/', location.href).href,
        threads > 1 ? {threads: true} : {});
  } catch (error) {
    throw new DemoError(`cannot start the LiteRT.js WebAssembly runtime: ${error.message}`);
  }
  const compiled = {};
  for (const name of card.needed) {
    const entry = card.models[name];
    setStatus(`Compiling ${entry.file} ...`);
    const url = new URL(entry.file, MODEL_URL);
    const response = await fetch(url);
    if (!response.ok) throw new DemoError(`cannot fetch ${url} (HTTP ${response.status})`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    try {
      compiled[name] = await loadAndCompile(bytes, {
        accelerator: 'wasm', cpuOptions: {numThreads: threads}});
    } catch (error) {
      throw new DemoError(`${entry.file}: LiteRT.js cannot load it (${error.message})`);
    }
    checkCompiled(entry, compiled[name].getInputDetails(), compiled[name].getOutputDetails());
    demo.models[name] = {file: entry.file, bytes: bytes.length};
  }
  return {card, runtime: new LiteRtRuntime(compiled, card)};
}

// ---------------------------------------------------------------- media

function frameCanvas(id, card) {
  const canvas = $(id);
  [canvas.height, canvas.width] = card.frameShape;
  return canvas;
}

// Draw an image/video onto the panel at the model's frame size and return its
// tensor (resized like python -m fomm_tf.animate: whole picture, no crop unless
// "centre crop" is ticked).
function drawFrame(canvas, media, mediaWidth, mediaHeight) {
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  let sx = 0; let sy = 0; let sw = mediaWidth; let sh = mediaHeight;
  if ($('crop').checked) {
    const side = Math.min(mediaWidth, mediaHeight);
    sx = Math.floor((mediaWidth - side) / 2);
    sy = Math.floor((mediaHeight - side) / 2);
    sw = sh = side;
  }
  ctx.drawImage(media, sx, sy, sw, sh, 0, 0, canvas.width, canvas.height);
  const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  return rgbaToTensor(pixels, canvas.height, canvas.width);
}

function showTensor(canvas, tensor) {
  const rgba = tensorToRgba(tensor, canvas.height, canvas.width);
  const image = new ImageData(rgba, canvas.width, canvas.height);
  canvas.getContext('2d').putImageData(image, 0, 0);
  return image;
}

async function loadImageFile(file) {
  try {
    return await createImageBitmap(file, {imageOrientation: 'from-image'});
  } catch (error) {
    throw new DemoError(`${file.name}: not a readable image (${error.message || error})`);
  }
}

function waitFor(target, ok, bad = 'error') {
  return new Promise((resolve, reject) => {
    const done = () => { target.removeEventListener(bad, failed); resolve(); };
    const failed = () => { target.removeEventListener(ok, done); reject(target.error); };
    target.addEventListener(ok, done, {once: true});
    target.addEventListener(bad, failed, {once: true});
  });
}

async function openVideoFile(file) {
  const video = $('driving-video');
  if (video.src.startsWith('blob:')) URL.revokeObjectURL(video.src);
  video.src = URL.createObjectURL(file);
  try {
    if (video.readyState < 2) await waitFor(video, 'loadeddata');
  } catch (error) {
    throw new DemoError(
        `${file.name}: not a video this browser can decode` +
        `${error && error.message ? ` (${error.message})` : ''}`);
  }
  trackPresentedFrames(video);
  let timing = mp4VideoTiming(await file.arrayBuffer());
  let note = '';
  if (!timing) {
    const fps = 25;
    timing = {fps, frameCount: Math.max(1, Math.round(video.duration * fps))};
    note = ' (frame rate not stored in an MP4/MOV header: sampled at 25 frames/s)';
  }
  return {video, ...timing, note};
}

// Keeps video.presentedTime = media time of the frame the element presents
// (requestVideoFrameCallback), to know when a seek has really landed.
function trackPresentedFrames(video) {
  if (video.tracking || !('requestVideoFrameCallback' in video)) return;
  video.tracking = true;
  const step = (now, meta) => {
    video.presentedTime = meta.mediaTime;
    video.requestVideoFrameCallback(step);
  };
  video.requestVideoFrameCallback(step);
}

// Seek to frame `index` and wait until the element presents it: 'seeked' can
// fire before the new frame reaches the compositor, and drawImage would then
// copy the previous frame.
async function showFrame(video, index, fps) {
  const time = (index + 0.5) / fps;
  if (Math.abs(video.currentTime - time) > 1e-6) {
    const seeked = waitFor(video, 'seeked');
    video.currentTime = time;
    await seeked;
  }
  if (!video.tracking) return;
  const deadline = performance.now() + 5000;
  while (!(Math.abs(video.presentedTime - index / fps) < 0.5 / fps) &&
         performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  if (performance.now() >= deadline) {
    console.warn(`frame ${index}: presented media time ${video.presentedTime}`);
  }
}

// ---------------------------------------------------------------- app

let app = null;
let running = false;
let stopRequested = false;

function flagsFromUi() {
  const flags = {};
  for (const name of app.card.flagOrder) flags[name] = $(`flag-${name}`).checked;
  return flags;
}

function showStats(animator, count, total, started) {
  const elapsed = (performance.now() - started) / 1000;
  demo.fps = count / elapsed;
  const parts = [`${count}${total ? `/${total}` : ''} frames`, `${demo.fps.toFixed(1)} frames/s`];
  for (const name of app.card.needed) {
    const mean = animator.timings.mean(name);
    if (!Number.isNaN(mean)) parts.push(`${name} ${mean.toFixed(1)} ms`);
  }
  $('stats').textContent = parts.join(' · ');
}

async function prepareSource(animator) {
  const file = $('source-file').files[0];
  let bitmap;
  if (file) bitmap = await loadImageFile(file);
  else if (app.sampleSource) bitmap = app.sampleSource;
  else throw new DemoError('pick a source photo first');
  const tensor = drawFrame(frameCanvas('source', app.card), bitmap, bitmap.width, bitmap.height);
  await animator.setSource(tensor);
  return tensor;
}

async function animateFile(animator, record) {
  const file = $('driving-file').files[0] || app.sampleDriving;
  if (!file) throw new DemoError('pick a driving video (or use the webcam) first');
  const {video, fps, frameCount, note} = await openVideoFile(file);
  const driving = frameCanvas('driving', app.card);
  const result = frameCanvas('result', app.card);
  const flags = flagsFromUi();
  demo.frameCount = frameCount;
  app.resultFps = fps;
  const started = performance.now();
  for (let i = 0; i < frameCount && !stopRequested; i++) {
    await showFrame(video, i, fps);
    const tensor = drawFrame(driving, video, video.videoWidth, video.videoHeight);
    const prediction = await animator.frame(tensor, flags);
    app.results.push(showTensor(result, prediction));
    if (record) {
      record.driving.push(tensor);
      record.outputs.push(prediction);
    }
    demo.framesDone = i + 1;
    showStats(animator, i + 1, frameCount, started);
  }
  setStatus(`Done: ${demo.framesDone} frames of ${file.name} at ${fps.toFixed(2)} ` +
            `frames/s${note}. Save the result or start again.`);
}

async function animateWebcam(animator) {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({video: true, audio: false});
  } catch (error) {
    throw new DemoError(`no webcam: ${error.message || error}`);
  }
  const video = $('driving-video');
  video.srcObject = stream;
  await video.play();
  const driving = frameCanvas('driving', app.card);
  const result = frameCanvas('result', app.card);
  const started = performance.now();
  let count = 0;
  setStatus('Animating with the webcam: Stop ends it.');
  try {
    while (!stopRequested) {
      const tensor = drawFrame(driving, video, video.videoWidth, video.videoHeight);
      const prediction = await animator.frame(tensor, flagsFromUi());
      app.results.push(showTensor(result, prediction));
      count += 1;
      demo.framesDone = count;
      showStats(animator, count, 0, started);
      await new Promise((resolve) => requestAnimationFrame(resolve));
    }
  } finally {
    stream.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
    app.resultFps = demo.fps || 10;
  }
  setStatus(`Stopped after ${count} webcam frames. Save the result or start again.`);
}

async function start(useWebcam) {
  if (running) return;
  running = true;
  stopRequested = false;
  app.results = [];
  demo.status = 'running';
  demo.framesDone = 0;
  $('save').disabled = true;
  $('stop').disabled = false;
  const record = params.has('record') ? {source: null, driving: [], outputs: []} : null;
  try {
    const animator = new Animator(app.runtime, app.card);
    app.animator = animator;
    setStatus('Encoding the source photo ...');
    const source = await prepareSource(animator);
    if (record) record.source = source;
    if (useWebcam) await animateWebcam(animator);
    else await animateFile(animator, record);
    demo.timings = Object.fromEntries(app.card.needed.map(
        (name) => [name, animator.timings.stats[name]]));
    if (record) {
      demo.inputs = {source: record.source, driving: record.driving};
      demo.outputs = record.outputs;
    }
    demo.status = 'done';
    $('save').disabled = app.results.length === 0;
  } catch (error) {
    fail(error);
  } finally {
    running = false;
    $('stop').disabled = true;
  }
}

// Replays the result frames at the driving video's frame rate into a WebM file.
async function saveResult() {
  const frames = app.results;
  if (!frames.length) return;
  const canvas = document.createElement('canvas');
  canvas.width = frames[0].width;
  canvas.height = frames[0].height;
  const ctx = canvas.getContext('2d');
  ctx.putImageData(frames[0], 0, 0);
  const stream = canvas.captureStream(0);
  const track = stream.getVideoTracks()[0];
  const type = ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm']
      .find((t) => MediaRecorder.isTypeSupported(t));
  if (!type) {
    setStatus('this browser cannot record WebM video', 'error');
    return;
  }
  const recorder = new MediaRecorder(stream, {mimeType: type});
  const chunks = [];
  recorder.ondataavailable = (event) => event.data.size && chunks.push(event.data);
  const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
  setStatus('Writing the result video ...');
  recorder.start();
  const period = 1000 / (app.resultFps || 25);
  for (const frame of frames) {
    ctx.putImageData(frame, 0, 0);
    track.requestFrame();
    await new Promise((resolve) => setTimeout(resolve, period));
  }
  recorder.stop();
  await stopped;
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob(chunks, {type: 'video/webm'}));
  link.download = 'fomm-result.webm';
  document.body.appendChild(link);
  link.click();
  link.remove();
  setStatus(`Saved fomm-result.webm (${frames.length} frames).`);
}

function buildFlagsUi(card) {
  const box = $('flags');
  card.flagOrder.forEach((name, i) => {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.id = `flag-${name}`;
    input.checked = Boolean(card.flagDefault[i]);
    label.append(input, ` ${name}`);
    box.append(label);
  });
}

function describeCard(card) {
  const [h, w] = card.frameShape;
  $('model-info').textContent =
    `${MODEL_URL.pathname}: ${card.mode}, ${card.layout} layout, ${w}x${h} frames, ` +
    `${card.numKp} keypoints, ${demo.threads} WASM thread${demo.threads > 1 ? 's' : ''}. ` +
    `Keypoints: ${card.keypointConvention}`;
}

async function useSample() {
  const [image, video] = await Promise.all([
    fetch('samples/source.png').then((r) => r.blob()),
    fetch('samples/driving.mp4').then((r) => r.blob()),
  ]);
  app.sampleSource = await createImageBitmap(image);
  app.sampleDriving = new File([video], 'driving.mp4', {type: 'video/mp4'});
  $('source-file').value = '';
  $('driving-file').value = '';
  setStatus('Bundled sample selected: press Animate.');
}

async function main() {
  try {
    const {card, runtime} = await loadModels();
    app = {card, runtime, results: [], sampleSource: null, sampleDriving: null};
    buildFlagsUi(card);
    describeCard(card);
    for (const id of ['source', 'driving', 'result']) frameCanvas(id, card);
    $('animate').onclick = () => start(false);
    $('webcam').onclick = () => start(true);
    $('stop').onclick = () => { stopRequested = true; };
    $('save').onclick = () => saveResult().catch(fail);
    $('sample').onclick = () => useSample().catch(fail);
    $('source-file').onchange = () => { app.sampleSource = null; };
    $('driving-file').onchange = () => { app.sampleDriving = null; };
    for (const id of ['animate', 'webcam', 'sample']) $(id).disabled = false;
    demo.status = 'ready';
    setStatus('Ready: pick a photo and a video (or the webcam), or use the sample.');
  } catch (error) {
    fail(error);
  }
}

// The benchmark: median ms of each model on the loaded export (?bench=N runs).
async function benchmark(runs) {
  if (!app) throw new DemoError(`page not ready: ${demo.error || demo.status}`);
  const {card, runtime} = app;
  const [h, w] = card.frameShape;
  const image = new Float32Array(h * w * 3).map((_, i) => ((i * 7919) % 255) / 255);
  const animator = new Animator(runtime, card);
  for (let i = 0; i < 3; i++) { // warm-up: WASM compiles hot code in tiers
    await animator.setSource(image);
    await animator.frame(image);
  }
  const names = card.needed;
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < runs; i++) {
    const fresh = new Animator(runtime, card);
    await fresh.setSource(image);
    await fresh.frame(image);
    for (const n of names) samples[n].push(fresh.timings.stats[n].last);
  }
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  return {threads: demo.threads, ms: Object.fromEntries(names.map((n) => [n, median(samples[n])]))};
}
window.fommBenchmark = benchmark;

main();
