// Triton trace settings mapped onto OpenTelemetry sampling: env defaults, updates, per-model overrides.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { settingsFromEnv, TraceControl } from '../../../src/observability/trace-control.js';

test('off by default; OTEL_TRACES_EXPORTER turns it on with the sampler as the rate', () => {
  assert.equal(new TraceControl(settingsFromEnv({}).settings).on, false);
  const on = settingsFromEnv({ OTEL_TRACES_EXPORTER: 'otlp' });
  assert.deepEqual(on.settings, { trace_level: ['TIMESTAMPS'], trace_rate: '1' });
  assert.equal(on.parentBased, true);
  const ratio = settingsFromEnv({
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_TRACES_SAMPLER: 'traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.25',
  });
  assert.equal(ratio.settings.trace_rate, '4');
  assert.equal(ratio.parentBased, false);
  assert.deepEqual(settingsFromEnv({ OTEL_TRACES_EXPORTER: 'none' }).settings.trace_level, ['OFF']);
  assert.deepEqual(
    settingsFromEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'always_off' }).settings.trace_level,
    ['OFF'],
  );
});

test('trace_rate N samples one request in N; trace_count bounds how many', () => {
  const c = new TraceControl();
  c.update({ trace_level: ['TIMESTAMPS'], trace_rate: '3' });
  assert.equal(c.on, true);
  const picks = Array.from({ length: 9 }, () => c.sample('m', undefined));
  assert.equal(picks.filter(Boolean).length, 3);
  c.update({ trace_rate: 1, trace_count: '2' });
  assert.deepEqual([c.sample('m', undefined), c.sample('m', undefined), c.sample('m', undefined)], [true, true, false]);
});

test("parent-based: the caller's sampled flag decides", () => {
  const c = new TraceControl({ trace_level: ['TIMESTAMPS'], trace_rate: '1000' });
  assert.equal(c.sample('m', true), true);
  assert.equal(c.sample('m', false), false);
});

test('per-model overrides apply to that model only, and null clears them', () => {
  const c = new TraceControl();
  const m = c.update({ trace_level: ['TIMESTAMPS'], trace_rate: '1' }, 'digits');
  assert.deepEqual(m.trace_level, ['TIMESTAMPS']);
  assert.deepEqual(c.get().trace_level, ['OFF']);
  assert.equal(c.on, true);
  assert.equal(c.sample('digits', undefined), true);
  assert.equal(c.sample('other', undefined), false);
  c.update({ trace_level: null }, 'digits');
  assert.equal(c.on, false);
  assert.equal(c.get('digits').trace_rate, '1', 'the other override stays');
});

test('bad updates are refused whole, naming the key', () => {
  const c = new TraceControl();
  assert.throws(() => c.update({ trace_bogus: '1' }), /trace_bogus/);
  assert.throws(() => c.update({ trace_rate: '0' }), /trace_rate/);
  assert.throws(() => c.update({ trace_level: ['LOUD'] }), /trace_level/);
  assert.throws(() => c.update({ trace_level: ['TIMESTAMPS'], trace_mode: 'triton' }), /not supported/);
  assert.deepEqual(c.get().trace_level, ['OFF']);
});
