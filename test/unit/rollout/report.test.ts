// The shadow diff report (issue #13 item 3) on hand-made comparisons: replicas' rows merge per
// version pair (counts summed, worst lists merged and cut), the report's rates, means and
// percentiles, and the HTML page: self-contained (no URL, no script) and escaping every string.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INCOMPARABLE } from '../../../src/rollout/compare.js';
import {
  type ArmCounters,
  emptyHistogram,
  emptyPair,
  observe,
  type PairDiff,
} from '../../../src/rollout/observations.js';
import { buildReport, mergeDiffs, renderReportHtml } from '../../../src/rollout/report.js';

function pair(primary: number, shadow: number, over: Partial<PairDiff> = {}): PairDiff {
  return { ...emptyPair(primary, shadow), ...over };
}

function latencies(...ms: number[]) {
  const h = emptyHistogram();
  for (const v of ms) observe(h, v);
  return h;
}

const worst = (n: number, prefix: string, base: number) =>
  Array.from({ length: n }, (_, i) => ({
    requestId: `${prefix}-${i}`,
    diff: base - i,
    at: '2025-01-01T00:00:00.000Z',
  }));

describe('mergeDiffs', () => {
  const a = [
    pair(1, 2, {
      compared: 100,
      disagreed: 3,
      failed: 1,
      dropped: 5,
      outputs: { y: { maxAbs: 0.5, sumAbs: 2, count: 100 } },
      latency: latencies(1, 1, 4),
      worst: worst(15, 'a', 100),
    }),
    pair(1, 3, { compared: 10 }),
  ];
  const b = [
    pair(1, 2, {
      compared: 50,
      disagreed: 7,
      dropped: 1,
      outputs: { y: { maxAbs: 0.9, sumAbs: 1, count: 50 }, z: { maxAbs: 2, sumAbs: 4, count: 50 } },
      latency: latencies(4, 40),
      worst: worst(15, 'b', 95.5),
    }),
  ];

  it('sums each pair across replicas, keeps pairs apart, sorts by version', () => {
    const m = mergeDiffs([a, b]);
    assert.deepEqual(
      m.map((d) => [d.primary, d.shadow, d.compared, d.disagreed, d.failed, d.dropped]),
      [
        [1, 2, 150, 10, 1, 6],
        [1, 3, 10, 0, 0, 0],
      ],
    );
    const d = m[0]!;
    assert.deepEqual(d.outputs, { y: { maxAbs: 0.9, sumAbs: 3, count: 150 }, z: { maxAbs: 2, sumAbs: 4, count: 50 } });
    assert.equal(
      d.latency.counts.reduce((x, y) => x + y, 0),
      5,
    );
    assert.deepEqual(d.latency.counts, latencies(1, 1, 4, 4, 40).counts);
  });

  it('merges the worst lists by diff and cuts them to k', () => {
    const d = mergeDiffs([a, b], 20)[0]!;
    assert.equal(d.worst.length, 20);
    for (let i = 1; i < d.worst.length; i++) assert.ok(d.worst[i - 1]!.diff >= d.worst[i]!.diff);
    assert.deepEqual(
      d.worst.slice(0, 4).map((w) => w.requestId),
      ['a-0', 'a-1', 'a-2', 'a-3'],
    );
    assert.ok(d.worst.some((w) => w.requestId === 'b-0'));
    assert.equal(mergeDiffs([a, b], 3)[0]!.worst.length, 3);
  });

  it('leaves its inputs unchanged', () => {
    const before = structuredClone([a, b]);
    mergeDiffs([a, b]);
    assert.deepEqual([a, b], before);
  });
});

describe('buildReport', () => {
  const arms: Record<string, ArmCounters> = {
    '1': { requests: 900, errors: 9, latency: latencies(...Array(100).fill(2)) },
    '2': { requests: 100, errors: 0, latency: latencies(...Array(100).fill(8)) },
  };
  const rows = mergeDiffs([
    [
      pair(1, 2, {
        compared: 200,
        disagreed: 50,
        failed: 2,
        dropped: 3,
        outputs: { y: { maxAbs: 1.5, sumAbs: 20, count: 200 } },
        latency: latencies(...Array(100).fill(4)),
        worst: [
          { requestId: 'r1', diff: 1.5, at: 't1' },
          { requestId: 'r2', diff: INCOMPARABLE, at: 't2' },
        ],
      }),
    ],
  ]);

  it('computes agreement, mean abs diff, latency percentiles and the worst calls', () => {
    const r = buildReport('m', rows, arms, { at: '2025-01-01T00:00:00.000Z' });
    assert.equal(r.model, 'm');
    assert.equal(r.generatedAt, '2025-01-01T00:00:00.000Z');
    assert.deepEqual(r.summary, { pairs: 1, compared: 200, disagreed: 50, agreement: 0.75, failed: 2, dropped: 3 });
    const p = r.pairs[0]!;
    assert.deepEqual(p.outputs, [{ name: 'y', maxAbs: 1.5, meanAbs: 0.1, calls: 200 }]);
    // Every sample in the (3, 5] bucket: the median interpolates to its middle.
    assert.equal(p.shadowLatency.count, 100);
    assert.equal(p.shadowLatency.p50Ms, 4);
    assert.ok(p.shadowLatency.p99Ms! > 4 && p.shadowLatency.p99Ms! <= 5);
    assert.deepEqual(
      r.arms.map((x) => [x.version, x.requests, x.errorRate]),
      [
        ['1', 900, 0.01],
        ['2', 100, 0],
      ],
    );
    assert.ok(r.arms[0]!.latency.p50Ms! <= 2 && r.arms[1]!.latency.p50Ms! > 7.5);
    // An incomparable call ranks first and reads as null, not as a huge number.
    assert.deepEqual(
      r.worst.map((w) => [w.requestId, w.diff]),
      [
        ['r2', null],
        ['r1', 1.5],
      ],
    );
    assert.doesNotThrow(() => JSON.parse(JSON.stringify(r)));
  });

  it('reads an empty model as no agreement yet, not as 0 % or 100 %', () => {
    const r = buildReport('m', []);
    assert.equal(r.summary.agreement, null);
    assert.deepEqual(r.pairs, []);
    assert.match(renderReportHtml(r), /No shadow comparisons yet/);
  });
});

describe('renderReportHtml', () => {
  const evil = '<script>alert("x")</script>';
  const rows = [
    pair(1, 2, {
      compared: 10,
      disagreed: 1,
      outputs: { [`out${evil}`]: { maxAbs: 1, sumAbs: 1, count: 10 } },
      worst: [{ requestId: `id${evil}`, diff: 1, at: `at${evil}` }],
    }),
  ];
  const html = renderReportHtml(
    buildReport(evil, rows, { [`v${evil}`]: { requests: 1, errors: 0, latency: emptyHistogram() } }),
  );

  it('escapes every string that comes from data', () => {
    assert.ok(!html.includes('<script'), 'no script element');
    assert.ok(!html.includes('alert("x")'));
    assert.ok(html.includes('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;'));
    assert.equal(
      (html.match(/&#60;script&#62;/g) ?? []).length >= 5,
      true,
      'model (title, heading), output, id, time, arm',
    );
  });

  it('is self-contained: no URL, no external resource, a CSP that forbids fetching', () => {
    assert.doesNotMatch(html, /https?:|\/\/[a-z]/i);
    assert.doesNotMatch(html, /<(script|link|img|iframe|object)\b/i);
    assert.match(html, /default-src 'none'/);
  });

  it('has a summary line, a table per pair and the worst requests', () => {
    assert.match(html, /Agreement 90\.00 %: 1 of 10 compared calls disagree/);
    assert.match(html, /Version 1 \(primary\) vs 2 \(shadow\)/);
    assert.match(html, /Worst-disagreeing requests/);
  });
});
