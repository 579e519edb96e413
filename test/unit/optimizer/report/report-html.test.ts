import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderHtmlReport } from '../../../../src/optimizer/report/html.js';
import type { OptimizeReport } from '../../../../src/optimizer/measure/report-types.js';

const lat = (b1: number, b32: number) => [
  { batch: 1, p50Ms: b1, p99Ms: b1 * 1.2, meanMs: b1, throughput: 1000 / b1, runs: 10 },
  { batch: 32, p50Ms: b32, p99Ms: b32 * 1.2, meanMs: b32, throughput: 32000 / b32, runs: 10 },
];
const report: OptimizeReport = {
  model: 'mlp <digits>',
  created: '2025-01-01T00:00:00Z',
  machine: {
    model: 'cpu',
    cores: 2,
    arch: 'x64',
    flags: ['avx2'],
    vnni: false,
    reduceRangeDefault: true,
    threads: 1,
    onnxruntime: '1.30.0',
  },
  variants: [
    {
      name: 'fp32 (original)',
      sizeBytes: 7_000_000,
      latency: lat(0.1, 1.5),
      accuracy: { samples: 10, maxAbsErr: 0, meanAbsErr: 0, top1: 0.96 },
    },
    {
      name: 'int8 static',
      sizeBytes: 1_800_000,
      latency: lat(0.05, 0.4),
      accuracy: { samples: 10, maxAbsErr: 0.1, meanAbsErr: 0.01, top1: 0.958, agreement: 0.99 },
      notes: ['a note & more'],
    },
  ],
};

describe('HTML report', () => {
  it('is one self-contained page with inline SVG charts and escaped text', () => {
    const html = renderHtmlReport(report);
    assert.match(html, /^<!doctype html>/);
    assert.ok((html.match(/<svg /g) ?? []).length >= 3, 'size/latency/accuracy charts');
    assert.match(html, /size vs latency/);
    assert.match(html, /latency vs accuracy/);
    assert.match(html, /mlp &#60;digits&#62;/);
    assert.match(html, /a note &#38; more/);
    assert.doesNotMatch(html, /<script|<link|<img|https?:\/\/(?!www\.w3\.org)/);
  });
});
