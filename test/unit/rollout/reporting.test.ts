// Which observation rows a report is made of (rollout/reporting.ts): the newest (rollout, step)
// wins, summed over the replicas that published it; older steps, stale replicas of another
// rollout and rows that are not observations are left out; no row at all is "no report".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ObservationRecord } from '../../../src/registry/types.js';
import { emptyHistogram, observe, type PairDiff, type ReplicaObservation } from '../../../src/rollout/observations.js';
import { reportFromObservations } from '../../../src/rollout/reporting.js';

function diff(compared: number, disagreed: number): PairDiff {
  return {
    primary: 1,
    shadow: 2,
    compared,
    disagreed,
    failed: 0,
    dropped: 0,
    outputs: { y: { maxAbs: 0.5, sumAbs: compared * 0.25, count: compared } },
    latency: emptyHistogram(),
    worst: disagreed ? [{ requestId: `r-${compared}`, diff: 0.5, at: '2026-01-01T00:00:00.000Z' }] : [],
  };
}

function row(replica: string, rollout: string, step: number, at: string, requests: number, d: PairDiff[]) {
  const latency = emptyHistogram();
  for (let i = 0; i < requests; i++) observe(latency, 3);
  const data: ReplicaObservation = { rollout, step, at, arms: { '1': { requests, errors: 1, latency } }, diffs: d };
  return { model: 'm', replica, data, updatedAt: at } as unknown as ObservationRecord;
}

test('the newest (rollout, step) is summed over its replicas; other steps and rollouts are left out', () => {
  const rows = [
    row('a', 'ro-1', 1, '2026-01-01T00:00:05.000Z', 10, [diff(10, 2)]),
    row('b', 'ro-1', 1, '2026-01-01T00:00:04.000Z', 30, [diff(20, 0)]),
    row('c', 'ro-1', 0, '2026-01-01T00:00:01.000Z', 1000, [diff(900, 900)]), // an older step
    row('d', 'ro-0', 2, '2026-01-01T00:00:00.000Z', 7, [diff(7, 7)]), // a replica gone since an old rollout
  ];
  const r = reportFromObservations('m', rows, { at: '2026-01-01T00:00:06.000Z' });
  assert.ok(r);
  assert.equal(r.rollout, 'ro-1');
  assert.equal(r.step, 1);
  assert.deepEqual(r.replicas, ['a', 'b']);
  assert.deepEqual(r.summary, { pairs: 1, compared: 30, disagreed: 2, agreement: 28 / 30, failed: 0, dropped: 0 });
  assert.deepEqual(
    r.arms.map((a) => [a.version, a.requests, a.errors, a.latency.count]),
    [['1', 40, 2, 40]],
  );
  assert.equal(r.pairs[0]?.outputs[0]?.meanAbs, 0.25);
  assert.deepEqual(
    r.worst.map((w) => w.requestId),
    ['r-10'],
  );
});

test('rows that are not observations are skipped; none at all is no report', () => {
  const junk = { model: 'm', replica: 'x', data: { hello: 1 }, updatedAt: '' } as ObservationRecord;
  assert.equal(reportFromObservations('m', []), undefined);
  assert.equal(reportFromObservations('m', [junk]), undefined);
  const r = reportFromObservations('m', [junk, row('a', 'manual-abc', 0, '2026-01-01T00:00:00.000Z', 2, [])]);
  assert.equal(r?.rollout, 'manual-abc');
  assert.equal(r?.summary.compared, 0);
});
