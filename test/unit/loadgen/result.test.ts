import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuShare, mergeRecorders, Recorder, summarize } from '../../../src/loadgen/result.js';
import { type RawRun, resultOf } from '../../../src/loadgen/run.js';
import { splitLoad } from '../../../src/loadgen/threads.js';

test('a summary counts successes, errors by kind, throughput and goodput', () => {
  const r = new Recorder();
  for (let i = 1; i <= 90; i++) r.record(i);
  for (let i = 0; i < 7; i++) r.record(0.5, 'http_503');
  for (let i = 0; i < 3; i++) r.record(2, 'transport_ECONNRESET');
  const s = summarize(r, 2000, 4, 45);
  assert.equal(s.requests, 100);
  assert.equal(s.ok, 90);
  assert.equal(s.errorCount, 10);
  assert.deepEqual(s.errors, { http_503: 7, transport_ECONNRESET: 3 });
  assert.equal(s.throughput, 45);
  assert.equal(s.inferencesPerSec, 180);
  assert.ok(s.goodput && Math.abs(s.goodput.perSec - 22.5) <= 0.5, JSON.stringify(s.goodput));
  assert.ok(s.errorLatencyMs && s.errorLatencyMs.max === 2);
  assert.ok(Math.abs(s.latencyMs.p50 - 45) <= 0.5);
});

test('merging recorders adds counts and error kinds', () => {
  const a = new Recorder();
  const b = new Recorder();
  a.record(1);
  a.record(1, 'grpc_UNAVAILABLE');
  b.record(2, 'grpc_UNAVAILABLE');
  b.record(3, 'http_500');
  const m = mergeRecorders([a, b.toData()]);
  assert.equal(m.ok.count, 1);
  assert.deepEqual(m.errors, { grpc_UNAVAILABLE: 2, http_500: 1 });
});

test('results split by variant and by phase only when there are several', () => {
  const mk = (lat: number, err?: string) => {
    const r = new Recorder();
    r.record(lat, err);
    return r;
  };
  const raw: RawRun = {
    recorders: new Map([
      ['0|calm', mk(1)],
      ['1|calm', mk(2, 'http_503')],
      ['0|burst', mk(3)],
    ]),
    windowMs: 1000,
    cpu: { user: 300_000, system: 200_000 },
  };
  const res = resultOf(raw, { batch: 1 });
  assert.equal(res.total.requests, 3);
  assert.equal(res.byVariant?.['0']?.ok, 2);
  assert.deepEqual(res.byVariant?.['1']?.errors, { http_503: 1 });
  assert.equal(res.byPhase?.burst?.ok, 1);
  assert.equal(res.generatorCpuCores, 0.5);
  const single = resultOf({ ...raw, recorders: new Map([['0|', mk(1)]]) }, { batch: 1 });
  assert.equal(single.byVariant, undefined);
  assert.equal(single.byPhase, undefined);
});

test('cpu share is CPU time over wall time', () => {
  assert.equal(cpuShare({ user: 1_000_000, system: 1_000_000 }, 1000), 2);
  assert.equal(cpuShare({ user: 5, system: 5 }, 0), 0);
});

test('splitting a load over threads keeps the totals', () => {
  const closed = {
    mode: { kind: 'closed' as const, concurrency: 10 },
    durationMs: 1000,
    warmupMs: 0,
    batch: 1,
    requests: 7,
  };
  const parts = [0, 1, 2].map((i) => splitLoad(closed, i, 3));
  assert.equal(
    parts.reduce((s, p) => s + (p.mode.kind === 'closed' ? p.mode.concurrency : 0), 0),
    10,
  );
  assert.equal(
    parts.reduce((s, p) => s + p.requests!, 0),
    7,
  );
  const open = {
    ...closed,
    requests: undefined,
    mode: { kind: 'open' as const, profile: { phases: [{ rate: 900, durationMs: 5 }] } },
  };
  const o = [0, 1, 2].map((i) => splitLoad(open, i, 3));
  for (const p of o) assert.equal(p.mode.kind === 'open' && p.mode.profile.phases[0]!.rate, 300);
  assert.notEqual(o[0]!.mode.kind === 'open' && o[0]!.mode.seed, o[1]!.mode.kind === 'open' && o[1]!.mode.seed);
});
