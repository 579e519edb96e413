import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { ModelInferRequestSchema, ModelStreamInferResponse } from '../../../../src/gen/grpc_service_pb.js';
import type { InferError } from '../../../../src/core/index.js';
import { type Harness, startHarness } from './harness.js';

type Req = MessageInitShape<typeof ModelInferRequestSchema>;
type Stream = ClientDuplexStream<Req, ModelStreamInferResponse>;

let h: Harness;
before(async () => {
  h = await startHarness({ maxStreamInFlight: 2 });
});
after(() => h.close());

function openStream(): Stream {
  const c = h.client as unknown as { modelStreamInfer(): Stream };
  return c.modelStreamInfer();
}

type Params = NonNullable<MessageInitShape<typeof ModelInferRequestSchema>['parameters']>;
type Inputs = NonNullable<MessageInitShape<typeof ModelInferRequestSchema>['inputs']>;

function echo(id: string, model = 'echo', delayMs?: number, extra: { inputs?: Inputs; parameters?: Params } = {}): Req {
  const delay: Params = {};
  if (delayMs !== undefined) delay['delay_ms'] = { parameterChoice: { case: 'int64Param', value: BigInt(delayMs) } };
  return {
    modelName: model,
    id,
    parameters: extra.parameters ?? delay,
    inputs: extra.inputs ?? [{ name: 'X', datatype: 'INT32', shape: [1n], contents: { intContents: [id.length] } }],
  };
}

/** Collects n responses from the stream. */
function take(stream: Stream, n: number): Promise<ModelStreamInferResponse[]> {
  const got: ModelStreamInferResponse[] = [];
  return new Promise((resolve, reject) => {
    const onData = (r: ModelStreamInferResponse) => {
      got.push(r);
      if (got.length === n) {
        stream.off('data', onData);
        resolve(got);
      }
    };
    stream.on('data', onData);
    stream.once('error', reject);
  });
}

describe('ModelStreamInfer', () => {
  it('answers in order, reports errors in-band and stays open', async () => {
    const stream = openStream();
    const first = take(stream, 5);
    stream.write(echo('a'));
    stream.write(echo('b', 'fail'));
    stream.write(
      echo('c', 'echo', undefined, {
        inputs: [{ name: 'BAD', datatype: 'INT8', shape: [1n], contents: { intContents: [999] } }],
      }),
    );
    stream.write(echo('d', 'delay', 60));
    stream.write(echo('e'));
    const res = await first;
    assert.deepEqual(
      res.map((r) => r.inferResponse?.id),
      ['a', 'b', 'c', 'd', 'e'],
    );
    assert.deepEqual(
      res.map((r) => r.errorMessage !== ''),
      [false, true, true, false, false],
    );
    assert.equal(res[1]?.errorMessage, 'model says no');
    assert.match(res[2]?.errorMessage ?? '', /'BAD'.*out of range/);
    assert.equal(res[3]?.inferResponse?.modelName, 'delay');
    assert.equal(res[0]?.inferResponse?.rawOutputContents.length, 1);

    // Still open: later requests are answered, including unknown-model errors.
    const second = take(stream, 2);
    stream.write(echo('f', 'ghost'));
    stream.write(echo('g'));
    const more = await second;
    assert.match(more[0]?.errorMessage ?? '', /^Request for unknown model: 'ghost'/);
    assert.equal(more[0]?.inferResponse?.id, 'f');
    assert.equal(more[1]?.inferResponse?.id, 'g');

    const ended = new Promise<void>((resolve) => stream.on('end', resolve));
    const closed = new Promise((resolve) => stream.on('status', resolve));
    stream.end();
    await ended;
    assert.equal(((await closed) as { code: number }).code, 0);
  });

  it('keeps order with more requests in flight than the read window', async () => {
    const stream = openStream();
    const n = 12;
    const all = take(stream, n);
    for (let i = 0; i < n; i++) stream.write(echo(`r${i}`, 'delay', (n - i) * 3));
    const res = await all;
    assert.deepEqual(
      res.map((r) => r.inferResponse?.id),
      Array.from({ length: n }, (_, i) => `r${i}`),
    );
    stream.end();
  });

  it('marks responses final when asked (triton_enable_empty_final_response)', async () => {
    const stream = openStream();
    const one = take(stream, 1);
    stream.write(
      echo('z', 'echo', undefined, {
        parameters: { triton_enable_empty_final_response: { parameterChoice: { case: 'boolParam', value: true } } },
      }),
    );
    const [r] = await one;
    assert.deepEqual(r?.inferResponse?.parameters['triton_final_response']?.parameterChoice, {
      case: 'boolParam',
      value: true,
    });
    stream.end();
  });

  it('cancelling the stream aborts its in-flight requests', async () => {
    const stream = openStream();
    stream.on('error', () => {});
    const arrived = h.fake.arrived;
    stream.write(echo('s', 'slow'));
    const req = await arrived;
    assert.equal(req.signal?.aborted, false);
    const aborted = new Promise((resolve) => req.signal?.addEventListener('abort', resolve));
    stream.cancel();
    await aborted;
    assert.equal((req.signal?.reason as InferError | undefined)?.code, 'IG_ERR_CANCELLED');
  });
});
