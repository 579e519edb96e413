// The history checker (test/history/checker.ts) on hand-made histories: a legal one passes, and each
// invariant has a history that breaks it and is caught, naming the id. A checker that cannot fail is
// worthless, so every rule is shown failing here. Also the nemesis plan's determinism and the
// classification of the server's error texts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkHistory, faultWindows, type Invariant } from '../../history/checker.js';
import { classifyGrpc, classifyHttp, codeOfMessage } from '../../history/classify.js';
import type { FaultKind, HistoryEvent, InvokeEvent, OutcomeEvent, Protocol } from '../../history/history.js';
import { effectsOf, planFaults } from '../../history/nemesis.js';
import { referenceFor } from '../../history/run.js';
import { ServerError } from '../../../src/client/http-client.js';

const reference = referenceFor(() => 3);
const check = (h: HistoryEvent[]) => checkHistory(h, { reference });
const X = [1, 2, 3, 4];
const y = (v: number) => X.map((x) => x + v);

function invoke(id: string, time: number, o: Partial<InvokeEvent> = {}): InvokeEvent {
  return {
    type: 'invoke',
    id,
    time,
    client: 'c0',
    protocol: 'http',
    model: 'm',
    input: X,
    deadline: time + 5000,
    purpose: 'load',
    ...o,
  };
}
function ok(
  id: string,
  time: number,
  version = 1,
  o: Partial<Extract<OutcomeEvent, { type: 'ok' }>> = {},
): OutcomeEvent {
  return { type: 'ok', id, time, model: 'm', version: String(version), output: y(version), echoedId: id, ...o };
}
function fail(
  id: string,
  time: number,
  status: number,
  o: { code?: string; message?: string; notAccepted?: boolean } = {},
): OutcomeEvent {
  return {
    type: 'fail',
    id,
    time,
    status,
    code: o.code,
    message: o.message ?? 'x',
    notAccepted: o.notAccepted ?? false,
  };
}
function fault(kind: FaultKind, start: number, end: number, id = `${kind}-1`): HistoryEvent[] {
  return [
    { type: 'fault', fault: id, kind, phase: 'start', time: start },
    { type: 'fault', fault: id, kind, phase: 'end', time: end },
  ];
}
/** The invariants of the violations, with their ids. */
const found = (h: HistoryEvent[]) => check(h).map((v) => `${v.invariant} ${v.id ?? ''}`.trim());
const one = (h: HistoryEvent[], invariant: Invariant, id?: string) =>
  assert.deepEqual(found(h), [`${invariant}${id ? ` ${id}` : ''}`], JSON.stringify(check(h)));

test('a legal history with faults, failures inside their windows and a swap passes', () => {
  const grpc: Partial<InvokeEvent> = { protocol: 'grpc' as Protocol };
  const h: HistoryEvent[] = [
    invoke('a', 0),
    ok('a', 10),
    ...fault('crash', 100, 300),
    invoke('b', 120),
    fail('b', 130, 500, { code: 'IG_ERR_WORKER_CRASHED' }),
    invoke('c', 150, grpc),
    fail('c', 160, 13, { code: 'IG_ERR_WORKER_CRASHED' }),
    invoke('d', 1200),
    fail('d', 1210, 503), // inside the 1 s grace after the crash window
    ...fault('restart', 2000, 4000),
    invoke('e', 2100),
    fail('e', 2101, 0, { code: 'ECONNREFUSED', notAccepted: true }),
    invoke('f', 2200, grpc),
    { type: 'info', id: 'f', time: 2300, code: 'UNAVAILABLE', message: 'Connection dropped' },
    ...fault('burst', 5000, 5400),
    invoke('g', 5000, { deadline: 5100 }),
    fail('g', 5100, 504),
    invoke('h', 6000),
    ok('h', 6010, 2),
    invoke('i', 5990), // sent before v2 was seen: v1 may still answer
    ok('i', 6020, 1),
    invoke('j', 6100),
    ok('j', 6110, 2),
  ];
  assert.deepEqual(check(h), []);
});

describe('I1: one terminal outcome per id, by its deadline + 1 s', () => {
  test('no outcome', () => one([invoke('a', 0)], 'I1', 'a'));
  test('two outcomes', () => one([invoke('a', 0), ok('a', 1), ok('a', 2)], 'I1', 'a'));
  test('an outcome for an id never invoked', () => one([ok('z', 1)], 'I1', 'z'));
  test('an id invoked twice', () => one([invoke('a', 0), invoke('a', 1), ok('a', 2)], 'I1', 'a'));
  test('an outcome past deadline + 1 s', () => {
    one([invoke('a', 0, { deadline: 100 }), ok('a', 1101)], 'I1', 'a');
    assert.deepEqual(check([invoke('a', 0, { deadline: 100 }), ok('a', 1100)]), []);
  });
});

describe('I2: the answer is the tagged version reference, for the asked model and id', () => {
  test('a wrong output value', () => one([invoke('a', 0), ok('a', 1, 1, { output: [2, 3, 4, 6] })], 'I2', 'a'));
  test('the output of another version than the tag', () =>
    one([invoke('a', 0), ok('a', 1, 2, { output: y(1) })], 'I2', 'a'));
  test('a version that never existed', () => one([invoke('a', 0), ok('a', 1, 9, { output: y(9) })], 'I2', 'a'));
  test('another request id echoed', () => one([invoke('a', 0), ok('a', 1, 1, { echoedId: 'b' })], 'I2', 'a'));
  test('no id echoed', () => one([invoke('a', 0), ok('a', 1, 1, { echoedId: undefined })], 'I2', 'a'));
  test('another model answered', () => one([invoke('a', 0), ok('a', 1, 1, { model: 'slow' })], 'I2', 'a'));
});

describe('I3: no old version once a newer one was served', () => {
  test('sent after v2 answered someone, served by v1', () =>
    one([invoke('a', 0), ok('a', 10, 2), invoke('b', 11), ok('b', 20, 1)], 'I3', 'b'));
  test("sent after the nemesis's swap-complete for v3, served by v2", () =>
    one(
      [{ type: 'observe', time: 10, what: 'swap-complete', model: 'm', version: '3' }, invoke('b', 11), ok('b', 20, 2)],
      'I3',
      'b',
    ));
  test('another model is not affected', () => {
    const slow = { model: 'slow' };
    assert.deepEqual(
      check([invoke('a', 0), ok('a', 10, 2), invoke('b', 11, slow), ok('b', 20, 1, { model: 'slow', output: y(100) })]),
      [],
    );
  });
});

describe('R: rejections only with retryable codes', () => {
  test('HTTP 500 that is not a worker crash, inside a window', () =>
    one([...fault('crash', 0, 100), invoke('a', 10), fail('a', 20, 500)], 'R', 'a'));
  test('HTTP 400 inside a window', () =>
    one([...fault('restart', 0, 100), invoke('a', 10), fail('a', 20, 400)], 'R', 'a'));
  test('gRPC INTERNAL crash code during a hang, not a crash', () =>
    one(
      [
        ...fault('hang', 0, 100),
        invoke('a', 10, { protocol: 'grpc' }),
        fail('a', 20, 13, { code: 'IG_ERR_WORKER_CRASHED' }),
      ],
      'R',
      'a',
    ));
  test('HTTP 500 crash code outside every window', () =>
    one([invoke('a', 10), fail('a', 20, 500, { code: 'IG_ERR_WORKER_CRASHED' })], 'R', 'a'));
  test('an HTTP status read as a gRPC code: 503 on gRPC is not retryable', () =>
    one([...fault('restart', 0, 100), invoke('a', 10, { protocol: 'grpc' }), fail('a', 20, 503)], 'R', 'a'));
  test('each retryable status passes inside a window', () => {
    const h: HistoryEvent[] = [...fault('restart', 0, 100)];
    for (const [i, s] of [503, 504, 429].entries()) h.push(invoke(`h${i}`, 10), fail(`h${i}`, 20, s));
    for (const [i, s] of [14, 4, 8].entries()) h.push(invoke(`g${i}`, 10, { protocol: 'grpc' }), fail(`g${i}`, 20, s));
    assert.deepEqual(check(h), []);
  });
});

describe('W: failures only inside fault windows (and their grace)', () => {
  test('a 503 with no fault at all', () => one([invoke('a', 10), fail('a', 20, 503)], 'W', 'a'));
  test('a 503 sent after the grace ran out', () => {
    one([...fault('swap', 0, 100), invoke('a', 1101), fail('a', 1110, 503)], 'W', 'a');
    assert.deepEqual(check([...fault('swap', 0, 100), invoke('a', 1100), fail('a', 1110, 503)]), []);
  });
  test('a 503 that ended before the window began', () =>
    one([invoke('a', 10), fail('a', 20, 503), ...fault('swap', 30, 100)], 'W', 'a'));
  test('a refused connection during a crash (only a restart explains one)', () =>
    one([...fault('crash', 0, 100), invoke('a', 10), fail('a', 11, 0, { notAccepted: true })], 'W', 'a'));
  test('an ambiguous outcome outside a restart', () =>
    one([invoke('a', 10), { type: 'info', id: 'a', time: 20, code: 'ECONNRESET', message: 'reset' }], 'W', 'a'));
  test('a window that never ended stays open', () => {
    const h: HistoryEvent[] = [{ type: 'fault', fault: 'restart-1', kind: 'restart', phase: 'start', time: 0 }];
    assert.equal(faultWindows(h)[0]!.end, Number.POSITIVE_INFINITY);
    assert.deepEqual(check([...h, invoke('a', 99_000), fail('a', 99_001, 503)]), []);
  });
});

test('H: a fault that ends without starting', () =>
  one([{ type: 'fault', fault: 'crash-9', kind: 'crash', phase: 'end', time: 5 }], 'H'));

test('fault effects are read back from the history', () => {
  const h: HistoryEvent[] = [
    ...fault('crash', 0, 300),
    { type: 'observe', time: 1, what: 'crash-posted', fault: 'crash-1', detail: 'inflight 1' },
    { type: 'observe', time: 2, what: 'worker-exit', fault: 'crash-1', detail: 'code 70' },
    { type: 'observe', time: 300, what: 'worker-ready', fault: 'crash-1' },
    invoke('a', 1),
    fail('a', 3, 500, { code: 'IG_ERR_WORKER_CRASHED' }),
    ...fault('swap', 400, 500, 'swap-2'),
  ];
  assert.deepEqual(
    effectsOf(h).map((e) => [e.fault, e.observed]),
    [
      ['crash-1', true],
      ['swap-2', false],
    ],
  );
});

test('the fault plan is a function of the seed, with every forced kind first', () => {
  const o = {
    kinds: ['crash', 'swap', 'restart', 'burst'] as FaultKind[],
    forceEach: true,
    count: 12,
    gapMs: [100, 900] as const,
  };
  assert.deepEqual(planFaults(7, o), planFaults(7, o));
  assert.notDeepEqual(planFaults(7, o), planFaults(8, o));
  const plan = planFaults(7, o);
  assert.equal(plan.length, 12);
  assert.deepEqual(
    plan
      .slice(0, 4)
      .map((f) => f.kind)
      .sort(),
    [...o.kinds].sort(),
  );
  assert.ok(plan.every((f, i) => f.forced === i < 4 && f.gapMs >= 100 && f.gapMs <= 900));
});

test("the server's error texts and transport errors are classified", () => {
  assert.equal(
    codeOfMessage("model instance 'm_1_0' crashed while executing the request; it is being restarted"),
    'IG_ERR_WORKER_CRASHED',
  );
  assert.equal(codeOfMessage('no live instance of the model is available; it is restarting'), 'IG_ERR_UNAVAILABLE');
  assert.equal(
    codeOfMessage("model instance 'm_1_0' did not answer within 1000 ms; it is being replaced"),
    'IG_ERR_WORKER_HUNG',
  );
  assert.equal(codeOfMessage('request timed out'), undefined);
  assert.deepEqual(classifyHttp(new ServerError(503, 'model version is unloading')), {
    type: 'fail',
    status: 503,
    code: undefined,
    message: 'model version is unloading',
    notAccepted: false,
  });
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  assert.equal((classifyHttp(refused) as { notAccepted?: boolean }).notAccepted, true);
  assert.equal(classifyHttp(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })).type, 'info');
  const grpc = (code: number, details: string) => Object.assign(new Error(details), { code, details });
  assert.equal(
    (classifyGrpc(grpc(14, 'No connection established. Last error: connect ECONNREFUSED')) as { notAccepted?: boolean })
      .notAccepted,
    true,
  );
  assert.equal(classifyGrpc(grpc(14, 'Connection dropped')).type, 'info');
  assert.deepEqual(classifyGrpc(grpc(14, 'queue is full')), {
    type: 'fail',
    status: 14,
    code: undefined,
    message: 'queue is full',
    notAccepted: false,
  });
});
