// Layer helpers for the benchmark models (bench/models.ts) on top of src/onnx: convolutions with
// batch norm folded into the bias, layer norm, attention. Weights are random (seeded) with a
// fan-in scale, so activations stay in a normal range (no NaN, no denormals to skew timings).
import { type GraphBuilder, relu } from '../src/onnx/index.js';

/** Seeded normal-ish random weights scaled by sqrt(2 / fanIn). */
export class Weights {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  private u(): number {
    this.s = (Math.imul(this.s, 1664525) + 1013904223) >>> 0;
    return this.s / 4294967296;
  }

  /** n values of roughly N(0, scale²). */
  normal(n: number, scale: number): Float32Array {
    const out = new Float32Array(n);
    // Sum of 4 uniforms: cheap, bell-shaped, unit variance after centring and scaling.
    for (let i = 0; i < n; i++) out[i] = (this.u() + this.u() + this.u() + this.u() - 2) * 1.7320508 * scale;
    return out;
  }

  /** He-style init for a layer with `fanIn` inputs. */
  he(n: number, fanIn: number, gain = 1): Float32Array {
    return this.normal(n, gain * Math.sqrt(2 / fanIn));
  }
}

/** Conv (+ folded batch norm as a bias) (+ Relu). */
export function convBn(
  g: GraphBuilder,
  w: Weights,
  x: string,
  c: { cin: number; cout: number; k: number; stride?: number; relu?: boolean; gain?: number },
  name: string,
): string {
  const wn = g.uniqueName(`${name}.w`);
  const bn = g.uniqueName(`${name}.b`);
  g.initializer(wn, 'FP32', [c.cout, c.cin, c.k, c.k], w.he(c.cout * c.cin * c.k * c.k, c.cin * c.k * c.k, c.gain));
  g.initializer(bn, 'FP32', [c.cout], new Float32Array(c.cout));
  const y = g.uniqueName(`${name}.out`);
  const pad = Math.floor(c.k / 2);
  g.node('Conv', [x, wn, bn], [y], {
    kernel_shape: [c.k, c.k],
    strides: [c.stride ?? 1, c.stride ?? 1],
    pads: [pad, pad, pad, pad],
  });
  return c.relu === false ? y : relu(g, y);
}

/** LayerNormalization over the last axis with unit scale and zero bias. */
export function layerNorm(g: GraphBuilder, x: string, hidden: number, name: string): string {
  const scale = g.uniqueName(`${name}.scale`);
  const bias = g.uniqueName(`${name}.bias`);
  g.initializer(scale, 'FP32', [hidden], new Float32Array(hidden).fill(1));
  g.initializer(bias, 'FP32', [hidden], new Float32Array(hidden));
  const y = g.uniqueName(`${name}.out`);
  g.node('LayerNormalization', [x, scale, bias], [y], { axis: -1, epsilon: 1e-5 });
  return y;
}

/** x · W + b with a random W [inF, outF]. */
export function linear(g: GraphBuilder, w: Weights, x: string, inF: number, outF: number, name: string): string {
  const wn = g.uniqueName(`${name}.w`);
  const bn = g.uniqueName(`${name}.b`);
  g.initializer(wn, 'FP32', [inF, outF], w.he(inF * outF, inF, 0.5));
  g.initializer(bn, 'FP32', [outF], new Float32Array(outF));
  const m = g.uniqueName(`${name}.mm`);
  const y = g.uniqueName(`${name}.out`);
  g.node('MatMul', [x, wn], [m]);
  g.node('Add', [m, bn], [y]);
  return y;
}

/** GELU written out with Erf (onnxruntime fuses it back into one Gelu kernel). */
export function gelu(g: GraphBuilder, x: string, name: string): string {
  const c = (v: number) => {
    const n = g.uniqueName(`${name}.c`);
    g.initializer(n, 'FP32', [], [v]);
    return n;
  };
  const [d, e, a, m, y] = ['div', 'erf', 'add', 'mul', 'out'].map((s) => g.uniqueName(`${name}.${s}`)) as [
    string,
    string,
    string,
    string,
    string,
  ];
  g.node('Div', [x, c(Math.SQRT2)], [d]);
  g.node('Erf', [d], [e]);
  g.node('Add', [e, c(1)], [a]);
  g.node('Mul', [x, a], [m]);
  g.node('Mul', [m, c(0.5)], [y]);
  return y;
}
