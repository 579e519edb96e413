import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { InferError } from '../../../src/core/index.js';
import { RequestLog } from '../../../src/observability/request-log.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, sink) };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('RequestLog', () => {
  it('samples load shedding: one line per model and code per second, with the count left out', async () => {
    const { lines, logger } = capture();
    let now = 0;
    const log = new RequestLog(logger, () => now);
    const full = new InferError('IG_ERR_QUEUE_FULL', 'Exceeds maximum queue size');
    const req = { requestId: 'r-1', model: 'bert', protocol: 'http' };
    for (let i = 0; i < 50; i++) log.failure(req, full, 0.2, 'bert', 1); // 50 rejections in one instant
    log.failure({ requestId: 'r-2', model: 'mlp', protocol: 'grpc' }, full, 0.2, 'mlp', 1); // another model: its own window
    now = 999;
    log.failure(req, full, 0.2, 'bert', 1);
    now = 1000;
    log.failure(req, full, 0.2, 'bert', 1);
    await flush();
    const shed = lines.filter((l) => l.code === 'IG_ERR_QUEUE_FULL');
    assert.deepEqual(
      shed.map((l) => [l.model, l.suppressed]),
      [
        ['bert', 0],
        ['mlp', 0],
        ['bert', 50],
      ],
    );
    assert.equal(shed[0]!.level, 40);
  });

  it('logs every client error and every server-side failure', async () => {
    const { lines, logger } = capture();
    const log = new RequestLog(logger, () => 0);
    const req = { requestId: 'r-1', model: 'bert', protocol: 'http' };
    for (let i = 0; i < 3; i++) log.failure(req, new InferError('IG_ERR_INVALID_ARG', 'bad shape'), 0.1, 'bert', 1);
    log.failure(req, new InferError('IG_ERR_WORKER_CRASHED', 'worker exited'), 3, 'bert', 1);
    await flush();
    assert.equal(lines.filter((l) => l.code === 'IG_ERR_INVALID_ARG').length, 3);
    const crash = lines.find((l) => l.code === 'IG_ERR_WORKER_CRASHED');
    assert.equal(crash?.level, 50);
    assert.equal(crash?.suppressed, undefined);
  });
});
