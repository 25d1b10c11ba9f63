// The First Order Motion Model pipeline over an exported mode directory, with no
// DOM code: model-card checks, image <-> tensor conversion, the per-frame loop.
// Everything about the models (names, shapes, keypoint inputs, flag order) comes
// from model_card.json, written by `python -m export.tflite`.

export const CARD_FORMAT = 'fomm-tf tflite export';
const LAYOUT_MODELS = {
  split: ['keypoint_detector', 'source_encoder', 'frame_generator'],
  single: ['keypoint_detector', 'generator'],
};
const IMAGE_INPUTS = ['image', 'source'];

export class DemoError extends Error {}

function sameShape(a, b) {
  return a.length === b.length && a.every((d, i) => Number(d) === Number(b[i]));
}

function fmt(shape) {
  return `[${Array.from(shape).join(', ')}]`;
}

// The checked model card: {frameShape, numKp, layout, flagOrder, flagDefault,
// keypointConvention, mode, models: {signature: entry}, generatorName}.
export function parseCard(card, where = 'model_card.json') {
  if (!card || typeof card !== 'object' || Array.isArray(card)) {
    throw new DemoError(`${where}: not a model card (expected a JSON object)`);
  }
  if (card.format !== CARD_FORMAT) {
    throw new DemoError(
        `${where}: format is ${JSON.stringify(card.format)}, expected ` +
        `"${CARD_FORMAT}" (write it with python -m export.tflite)`);
  }
  const fs = card.frame_shape;
  if (!Array.isArray(fs) || fs.length !== 3 ||
      !fs.every((d) => Number.isInteger(d) && d > 0) || fs[2] !== 3) {
    throw new DemoError(`${where}: frame_shape ${JSON.stringify(fs)} is not [H, W, 3]`);
  }
  const needed = LAYOUT_MODELS[card.layout];
  if (!needed) {
    throw new DemoError(`${where}: unknown layout ${JSON.stringify(card.layout)}`);
  }
  const flags = card.normalization_flags || {};
  if (!Array.isArray(flags.order) || !Array.isArray(flags.config_default) ||
      flags.order.length !== flags.config_default.length) {
    throw new DemoError(`${where}: normalization_flags needs order and config_default`);
  }
  const models = {};
  for (const entry of card.models || []) {
    if (!entry || typeof entry.file !== 'string' || !Array.isArray(entry.inputs) ||
        !Array.isArray(entry.outputs)) {
      throw new DemoError(`${where}: a models entry lacks file, inputs or outputs`);
    }
    models[entry.signature] = entry;
  }
  for (const name of needed) {
    if (!models[name]) {
      throw new DemoError(`${where}: layout ${card.layout} needs model ${name}`);
    }
  }
  const frameInput = [1, ...fs];
  for (const name of needed) {
    for (const tensor of [...models[name].inputs, ...models[name].outputs]) {
      if (tensor.dtype !== 'float32') {
        throw new DemoError(
            `${where}: ${name} tensor ${tensor.name} is ${tensor.dtype}, expected float32`);
      }
      if (IMAGE_INPUTS.includes(tensor.name) && !sameShape(tensor.shape, frameInput)) {
        throw new DemoError(
            `${where}: frame_shape ${fmt(fs)} does not match ${name} input ` +
            `${tensor.name} of shape ${fmt(tensor.shape)}`);
      }
    }
  }
  const generatorName = card.layout === 'split' ? 'frame_generator' : 'generator';
  if (!models[generatorName].inputs.some((t) => t.name === 'normalization_flags')) {
    throw new DemoError(`${where}: ${generatorName} has no normalization_flags input`);
  }
  return {
    frameShape: fs,
    numKp: card.num_kp,
    layout: card.layout,
    mode: card.mode,
    flagOrder: flags.order,
    flagDefault: flags.config_default.map(Number),
    keypointConvention: card.keypoint_convention,
    models,
    needed,
    generatorName,
  };
}

// The compiled model's tensors must be the card's (name and shape).
export function checkCompiled(entry, inputDetails, outputDetails) {
  const check = (listed, actual, kind) => {
    const byName = new Map(actual.map((d) => [d.name, d]));
    for (const tensor of listed) {
      const found = byName.get(tensor.name);
      if (!found) {
        throw new DemoError(
            `model_card.json lists ${kind} ${tensor.name} of ${entry.file}, but the ` +
            `file has ${[...byName.keys()].join(', ')}`);
      }
      if (!sameShape(found.shape, tensor.shape)) {
        throw new DemoError(
            `model_card.json says ${entry.file} ${kind} ${tensor.name} is ` +
            `${fmt(tensor.shape)}, the file says ${fmt(found.shape)}`);
      }
    }
    if (actual.length !== listed.length) {
      throw new DemoError(
          `${entry.file} has ${actual.length} ${kind}s, model_card.json lists ` +
          `${listed.length}`);
    }
  };
  check(entry.inputs, inputDetails, 'input');
  check(entry.outputs, outputDetails, 'output');
}

// RGBA bytes (canvas ImageData) -> NHWC float32 RGB in [0, 1].
export function rgbaToTensor(rgba, height, width) {
  const out = new Float32Array(height * width * 3);
  for (let p = 0, q = 0; p < height * width; p++, q += 4) {
    out[3 * p] = rgba[q] / 255;
    out[3 * p + 1] = rgba[q + 1] / 255;
    out[3 * p + 2] = rgba[q + 2] / 255;
  }
  return out;
}

// NHWC float32 RGB -> RGBA bytes, clipped to [0, 1] and rounded (opaque).
export function tensorToRgba(tensor, height, width) {
  const out = new Uint8ClampedArray(height * width * 4);
  for (let p = 0, q = 0; p < height * width; p++, q += 4) {
    for (let c = 0; c < 3; c++) {
      const v = Math.min(1, Math.max(0, tensor[3 * p + c]));
      out[q + c] = Math.round(v * 255);
    }
    out[q + 3] = 255;
  }
  return out;
}

// Running timing statistics per model: last and mean milliseconds.
export class Timings {
  constructor() {
    this.stats = {};
  }
  add(name, ms) {
    const s = this.stats[name] || (this.stats[name] = {last: 0, total: 0, count: 0});
    s.last = ms;
    s.total += ms;
    s.count += 1;
  }
  mean(name) {
    const s = this.stats[name];
    return s ? s.total / s.count : NaN;
  }
}

// The animation loop over a runtime with one method:
//   run(signature, {inputName: Float32Array}) -> Promise<{outputName: Float32Array}>
// Source keypoints and features are computed once per source; per driving frame
// the keypoint detector and the frame generator run; the first driving frame
// (or the webcam's first frame) gives the initial keypoints; normalisation
// happens inside the generator graph with the flags in the card's order.
export class Animator {
  constructor(runtime, card, now = () => performance.now()) {
    this.runtime = runtime;
    this.card = card;
    this.now = now;
    this.timings = new Timings();
    this.source = null;
    this.initial = null;
  }

  async timed(name, inputs) {
    const start = this.now();
    const out = await this.runtime.run(name, inputs);
    this.timings.add(name, this.now() - start);
    return out;
  }

  async setSource(sourceTensor) {
    const kp = await this.timed('keypoint_detector', {image: sourceTensor});
    let features = null;
    if (this.card.layout === 'split') {
      const encoded = await this.timed('source_encoder', {source: sourceTensor});
      features = encoded.source_features;
    }
    this.source = {tensor: sourceTensor, kp, features};
    this.initial = null;
  }

  resetDriving() {
    this.initial = null;
  }

  flagsVector(flags) {
    const values = this.card.flagOrder.map((name, i) =>
      (flags && name in flags ? Number(Boolean(flags[name])) : this.card.flagDefault[i]));
    return new Float32Array(values);
  }

  generatorInputs(kpDriving, flags) {
    const inputs = {};
    for (const tensor of this.card.models[this.card.generatorName].inputs) {
      const name = tensor.name;
      let value;
      if (name === 'source') value = this.source.tensor;
      else if (name === 'source_features') value = this.source.features;
      else if (name === 'normalization_flags') value = this.flagsVector(flags);
      else if (name.startsWith('kp_driving_initial_')) {
        value = this.initial['kp_' + name.slice('kp_driving_initial_'.length)];
      } else if (name.startsWith('kp_driving_')) {
        value = kpDriving['kp_' + name.slice('kp_driving_'.length)];
      } else if (name.startsWith('kp_source_')) {
        value = this.source.kp['kp_' + name.slice('kp_source_'.length)];
      }
      if (!value) {
        throw new DemoError(`no value for generator input ${name} (model_card.json)`);
      }
      inputs[name] = value;
    }
    return inputs;
  }

  // One animated frame (Float32Array NHWC) for one driving frame.
  async frame(drivingTensor, flags) {
    if (!this.source) throw new DemoError('no source image set');
    const kp = await this.timed('keypoint_detector', {image: drivingTensor});
    if (!this.initial) this.initial = kp;
    const out = await this.timed(
        this.card.generatorName, this.generatorInputs(kp, flags));
    return out.prediction;
  }
}

// Frame rate and frame count of the video track of an MP4/MOV file (from its
// mdhd timescale and stts sample table), or null when it cannot be read.
export function mp4VideoTiming(buffer) {
  const view = new DataView(buffer);
  const type = (p) => String.fromCharCode(
      view.getUint8(p), view.getUint8(p + 1), view.getUint8(p + 2), view.getUint8(p + 3));
  function* boxes(start, end) {
    let p = start;
    while (p + 8 <= end) {
      let size = view.getUint32(p);
      let header = 8;
      if (size === 1) {
        size = Number(view.getBigUint64(p + 8));
        header = 16;
      } else if (size === 0) {
        size = end - p;
      }
      if (size < header) return;
      yield {type: type(p + 4), start: p + header, end: Math.min(p + size, end)};
      p += size;
    }
  }
  const child = (box, name) => {
    for (const b of boxes(box.start, box.end)) if (b.type === name) return b;
    return null;
  };
  try {
    const moov = [...boxes(0, buffer.byteLength)].find((b) => b.type === 'moov');
    if (!moov) return null;
    for (const trak of boxes(moov.start, moov.end)) {
      if (trak.type !== 'trak') continue;
      const mdia = child(trak, 'mdia');
      const hdlr = mdia && child(mdia, 'hdlr');
      if (!hdlr || type(hdlr.start + 8) !== 'vide') continue;
      const mdhd = child(mdia, 'mdhd');
      const timescale = view.getUint32(mdhd.start + (view.getUint8(mdhd.start) ? 20 : 12));
      const stbl = child(child(mdia, 'minf'), 'stbl');
      const stts = child(stbl, 'stts');
      let frames = 0;
      let ticks = 0;
      const entries = view.getUint32(stts.start + 4);
      for (let i = 0; i < entries; i++) {
        const count = view.getUint32(stts.start + 8 + 8 * i);
        frames += count;
        ticks += count * view.getUint32(stts.start + 12 + 8 * i);
      }
      if (!frames || !ticks || !timescale) return null;
      return {fps: (frames * timescale) / ticks, frameCount: frames};
    }
  } catch (error) {
    return null;
  }
  return null;
}
