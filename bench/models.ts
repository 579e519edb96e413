// The benchmark models, generated with random weights by our ONNX builder (no downloads), and
// the model repository the comparison serves: per model a batching copy (b), a copy without
// dynamic batching (c), and for the SLO demo a two-priority copy with and without our
// latency_objective section. Written under .cache/bench-models (git-ignored), once.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dense, GraphBuilder, relu, softmax, writeModel } from '../src/onnx/index.js';
import { convBn, gelu, layerNorm, linear, Weights } from './model-layers.js';

export const REPO = '.cache/bench-models';
/** Bump when a model's graph changes so old files are rebuilt. */
const VERSION = '2';

/** One benchmark model and how it is served. */
export interface BenchModel {
  name: 'mlp' | 'resnet50' | 'bert';
  input: { name: string; datatype: 'FP32' | 'INT64'; dims: number[] };
  output: { name: string; dims: number[] };
  maxBatch: number;
  preferred: number[];
  queueDelayUs: number;
  build: () => GraphBuilder;
}

function mlp(): GraphBuilder {
  const w = new Weights(1);
  const g = new GraphBuilder('mlp').input('input', 'FP32', ['batch', 784]);
  const layer = (x: string, i: number, o: number, n: string) =>
    dense(g, x, { inFeatures: i, outFeatures: o, weights: w.he(i * o, i), bias: new Float32Array(o) }, n);
  const h1 = relu(g, layer('input', 784, 512, 'fc1'));
  const h2 = relu(g, layer(h1, 512, 256, 'fc2'));
  softmax(g, layer(h2, 256, 10, 'fc3'), 'probs');
  return g.output('probs', 'FP32', ['batch', 10]);
}

function resnet50(): GraphBuilder {
  const w = new Weights(2);
  const g = new GraphBuilder('resnet50').input('images', 'FP32', ['batch', 3, 224, 224]);
  let x = convBn(g, w, 'images', { cin: 3, cout: 64, k: 7, stride: 2 }, 'stem');
  const pooled = g.uniqueName('stem.pool');
  g.node('MaxPool', [x], [pooled], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  x = pooled;
  let cin = 64;
  [3, 4, 6, 3].forEach((blocks, stage) => {
    const width = 64 * 2 ** stage;
    for (let b = 0; b < blocks; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const n = `s${stage}b${b}`;
      let y = convBn(g, w, x, { cin, cout: width, k: 1 }, `${n}.a`);
      y = convBn(g, w, y, { cin: width, cout: width, k: 3, stride }, `${n}.b`);
      // A small gain on the last conv keeps the residual sum from growing block after block.
      y = convBn(g, w, y, { cin: width, cout: width * 4, k: 1, relu: false, gain: 0.2 }, `${n}.c`);
      const skip = b === 0 ? convBn(g, w, x, { cin, cout: width * 4, k: 1, stride, relu: false }, `${n}.proj`) : x;
      const sum = g.uniqueName(`${n}.add`);
      g.node('Add', [y, skip], [sum]);
      x = relu(g, sum);
      cin = width * 4;
    }
  });
  const gap = g.uniqueName('gap');
  const flat = g.uniqueName('flat');
  g.node('GlobalAveragePool', [x], [gap]).node('Flatten', [gap], [flat], { axis: 1 });
  g.initializer('fc.w', 'FP32', [1000, 2048], w.he(2048 * 1000, 2048));
  g.initializer('fc.b', 'FP32', [1000], new Float32Array(1000));
  g.node('Gemm', [flat, 'fc.w', 'fc.b'], ['logits'], { transB: 1 });
  return g.output('logits', 'FP32', ['batch', 1000]);
}

const SEQ = 128;
const HIDDEN = 384;
const HEADS = 6;
const LAYERS = 4;

function attention(g: GraphBuilder, w: Weights, x: string, n: string): string {
  const heads = (t: string) => {
    const r = g.uniqueName(`${n}.r`);
    const p = g.uniqueName(`${n}.t`);
    g.node('Reshape', [t, 'shape.heads'], [r]).node('Transpose', [r], [p], { perm: [0, 2, 1, 3] });
    return p;
  };
  const [q, k, v] = ['q', 'k', 'v'].map((s) => heads(linear(g, w, x, HIDDEN, HIDDEN, `${n}.${s}`))) as [
    string,
    string,
    string,
  ];
  const kt = g.uniqueName(`${n}.kt`);
  const [s, sc, p, c, ct, cr] = ['s', 'sc', 'p', 'c', 'ct', 'cr'].map((t) => g.uniqueName(`${n}.${t}`)) as string[];
  g.node('Transpose', [k], [kt], { perm: [0, 1, 3, 2] })
    .node('MatMul', [q, kt], [s!])
    .node('Mul', [s!, 'attn.scale'], [sc!])
    .node('Softmax', [sc!], [p!], { axis: -1 })
    .node('MatMul', [p!, v], [c!])
    .node('Transpose', [c!], [ct!], { perm: [0, 2, 1, 3] })
    .node('Reshape', [ct!, 'shape.hidden'], [cr!]);
  return linear(g, w, cr!, HIDDEN, HIDDEN, `${n}.o`);
}

/** `layers` BERT encoder layers (H 384, 6 heads, seq 128, FFN 4H) on x: [batch, 128, 384]. */
export function encoderLayers(g: GraphBuilder, w: Weights, input: string, layers: number): string {
  g.initializer('shape.heads', 'INT64', [4], [0n, BigInt(SEQ), BigInt(HEADS), BigInt(HIDDEN / HEADS)]);
  g.initializer('shape.hidden', 'INT64', [3], [0n, BigInt(SEQ), BigInt(HIDDEN)]);
  g.initializer('attn.scale', 'FP32', [], [1 / Math.sqrt(HIDDEN / HEADS)]);
  let x = input;
  for (let l = 0; l < layers; l++) {
    const n = `l${l}`;
    const a = g.uniqueName(`${n}.res1`);
    g.node('Add', [x, attention(g, w, x, `${n}.attn`)], [a]);
    x = layerNorm(g, a, HIDDEN, `${n}.ln1`);
    const ff = linear(
      g,
      w,
      gelu(g, linear(g, w, x, HIDDEN, 4 * HIDDEN, `${n}.ff1`), `${n}.gelu`),
      4 * HIDDEN,
      HIDDEN,
      `${n}.ff2`,
    );
    const b = g.uniqueName(`${n}.res2`);
    g.node('Add', [x, ff], [b]);
    x = layerNorm(g, b, HIDDEN, `${n}.ln2`);
  }
  return x;
}

/** One BERT-like encoder block on float hidden states [batch, 128, 384] (the optimizer's anchor). */
export function bertBlock(): GraphBuilder {
  const g = new GraphBuilder('bert_block').input('x', 'FP32', ['batch', SEQ, HIDDEN]);
  g.node('Identity', [encoderLayers(g, new Weights(4), 'x', 1)], ['y']);
  return g.output('y', 'FP32', ['batch', SEQ, HIDDEN]);
}

function bert(): GraphBuilder {
  const w = new Weights(3);
  const g = new GraphBuilder('bert').input('input_ids', 'INT64', ['batch', SEQ]);
  g.initializer('emb.word', 'FP32', [1000, HIDDEN], w.normal(1000 * HIDDEN, 0.5));
  g.initializer('emb.pos', 'FP32', [SEQ, HIDDEN], w.normal(SEQ * HIDDEN, 0.5));
  g.node('Gather', ['emb.word', 'input_ids'], ['emb.tok'], { axis: 0 }).node(
    'Add',
    ['emb.tok', 'emb.pos'],
    ['emb.sum'],
  );
  const x = encoderLayers(g, w, layerNorm(g, 'emb.sum', HIDDEN, 'emb.ln'), LAYERS);
  g.node('ReduceMean', [x], ['pooled'], { axes: [1], keepdims: 0 });
  g.node('Identity', [linear(g, w, 'pooled', HIDDEN, 2, 'cls')], ['logits']);
  return g.output('logits', 'FP32', ['batch', 2]);
}

/** The models the comparison knows, by name. */
export const MODELS: Record<BenchModel['name'], BenchModel> = {
  mlp: {
    name: 'mlp',
    input: { name: 'input', datatype: 'FP32', dims: [784] },
    output: { name: 'probs', dims: [10] },
    maxBatch: 64,
    preferred: [],
    // 0: go at once while an instance is free, batch up while all are busy (a sub-ms delay
    // costs 1–2 ms per request at low load on Node's 1 ms timers).
    queueDelayUs: 0,
    build: mlp,
  },
  resnet50: {
    name: 'resnet50',
    input: { name: 'images', datatype: 'FP32', dims: [3, 224, 224] },
    output: { name: 'logits', dims: [1000] },
    maxBatch: 8,
    preferred: [],
    queueDelayUs: 5000,
    build: resnet50,
  },
  bert: {
    name: 'bert',
    input: { name: 'input_ids', datatype: 'INT64', dims: [SEQ] },
    output: { name: 'logits', dims: [2] },
    maxBatch: 8,
    preferred: [],
    queueDelayUs: 5000,
    build: bert,
  },
};

/** How a served copy of a model schedules. */
export interface ServeVariant {
  /** Suffix of the served name: '' = dynamic batching, '_nobatch', '_prio', '_slo'. */
  suffix: string;
  batching: boolean;
  priorities?: boolean;
  /** p99 objective in µs for our latency_objective section. */
  objectiveUs?: number;
  /** Bounded queue (default_queue_policy.max_queue_size): a full queue answers 503 at once. */
  maxQueueSize?: number;
  /** Our worker_nice parameter (default 10 when absent). */
  workerNice?: number;
  /** Our batch_size_tuning: throughput parameter (the cap is measured online). */
  tuning?: boolean;
}

/** The config.pbtxt of one served copy. */
export function configText(m: BenchModel, v: ServeVariant): string {
  const type = (dt: string) => (dt === 'INT64' ? 'TYPE_INT64' : 'TYPE_FP32');
  const lines = [
    `name: "${m.name}${v.suffix}"`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${m.maxBatch}`,
    `input [ { name: "${m.input.name}" data_type: ${type(m.input.datatype)} dims: [ ${m.input.dims.join(', ')} ] } ]`,
    `output [ { name: "${m.output.name}" data_type: TYPE_FP32 dims: [ ${m.output.dims.join(', ')} ] } ]`,
    // As many instances as cores: each runs one batch at a time on one thread.
    'instance_group [ { count: 2, kind: KIND_CPU } ]',
  ];
  if (v.batching) {
    const prio = v.priorities ? ' priority_levels: 2 default_priority_level: 2' : '';
    const pref = m.preferred.length > 0 ? ` preferred_batch_size: [ ${m.preferred.join(', ')} ]` : '';
    const queue = v.maxQueueSize ? ` default_queue_policy { max_queue_size: ${v.maxQueueSize} }` : '';
    lines.push(`dynamic_batching { max_queue_delay_microseconds: ${m.queueDelayUs}${pref}${prio}${queue} }`);
  }
  if (v.tuning) lines.push('parameters { key: "batch_size_tuning" value { string_value: "throughput" } }');
  if (v.workerNice !== undefined)
    lines.push(`parameters { key: "worker_nice" value { string_value: "${v.workerNice}" } }`);
  if (v.objectiveUs)
    lines.push(`latency_objective { p99_microseconds: ${Math.round(v.objectiveUs)} window_requests: 200 }`);
  return `${lines.join('\n')}\n`;
}

/** Path of a model's ONNX file in the cache. */
export function modelFile(name: string): string {
  return join(REPO, '_onnx', `${name}.onnx`);
}

/** Builds a model's ONNX file once (rebuilt when VERSION changes). */
export async function ensureModelFile(m: BenchModel): Promise<string> {
  const file = modelFile(m.name);
  const stamp = `${file}.version`;
  if (existsSync(file) && existsSync(stamp) && (await readFile(stamp, 'utf8')) === VERSION) return file;
  await mkdir(join(REPO, '_onnx'), { recursive: true });
  await writeModel(file, m.build());
  await writeFile(stamp, VERSION);
  return file;
}

/** Writes one served copy (config + a copy of the model file) into the repository. */
export async function writeServed(m: BenchModel, v: ServeVariant): Promise<string> {
  const name = `${m.name}${v.suffix}`;
  const dir = join(REPO, 'repo', name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, '1'), { recursive: true });
  await writeFile(join(dir, '1', 'model.onnx'), await readFile(await ensureModelFile(m)));
  await writeFile(join(dir, 'config.pbtxt'), configText(m, v));
  return name;
}
