// One client's bad BYTES element fails that client's call only (#26 item 11): a BYTES identity
// model on onnxruntime with dynamic batching (a long queue delay, so concurrent calls are batched
// together); a call with a NUL byte in an element and clean calls sent at the same moment: the bad
// one is 400 naming the input and element, the clean ones are answered byte-exact.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Tensor } from '../../src/core/index.js';
import { identityModel } from '../unit/backend/models.js';
import { addModel, tempRepo } from './models.js';
import { startTestServer, type TestServer } from './server.js';

let s: TestServer;
before(async () => {
  const repo = tempRepo();
  addModel(
    repo,
    'ids',
    1,
    identityModel('BYTES', [2]),
    'max_batch_size: 8\ndynamic_batching { max_queue_delay_microseconds: 300000 }\n',
  );
  s = await startTestServer({ repository: repo });
});
after(() => s?.close());

const enc = new TextEncoder();
const row = (...items: string[]): Tensor[] => [
  { name: 'x', datatype: 'BYTES', shape: [1, items.length], data: items.map((i) => enc.encode(i)) },
];

test('a NUL byte in one call of a batch fails that call only; the others are answered unchanged', async () => {
  for (const protocol of ['http', 'grpc'] as const) {
    const client = protocol === 'http' ? s.http : s.grpc;
    const calls = [
      client.infer('ids', row('a', 'b')),
      client.infer('ids', row('c', 'd\0e')),
      client.infer('ids', row('é', '')),
    ];
    const [good1, bad, good2] = (await Promise.allSettled(calls)) as [
      PromiseSettledResult<{ outputs: Tensor[] }>,
      PromiseSettledResult<unknown>,
      PromiseSettledResult<{ outputs: Tensor[] }>,
    ];
    assert.equal(good1.status, 'fulfilled', `${protocol}: ${String((good1 as PromiseRejectedResult).reason)}`);
    assert.equal(good2.status, 'fulfilled', `${protocol}: ${String((good2 as PromiseRejectedResult).reason)}`);
    const text = (r: typeof good1) =>
      ((r as PromiseFulfilledResult<{ outputs: Tensor[] }>).value.outputs[0]!.data as Uint8Array[]).map((e) =>
        new TextDecoder().decode(e),
      );
    assert.deepEqual(text(good1), ['a', 'b']);
    assert.deepEqual(text(good2), ['é', '']);
    assert.equal(bad.status, 'rejected');
    assert.match(
      String((bad as PromiseRejectedResult).reason),
      /input 'x' element 1 contains a NUL byte, which model 'ids' cannot take/,
      protocol,
    );
  }
});
