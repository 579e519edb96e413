import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { ModelInferRequestSchema, ModelStreamInferResponse } from '../../../../src/gen/grpc_service_pb.js';
import type { InferError } from '../../../../src/core/index.js';
import { executedValues } from '../real-services.js';
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

/** A request to an INT32 echo model ('echo_int32', or 'delay' (40 ms), 'slow' (300 ms), 'fail'…). */
function echo(
  id: string,
  model = 'echo_int32',
  extra: { inputs?: Inputs; parameters?: Params; value?: number } = {},
): Req {
  const value = extra.value ?? id.length;
  return {
    modelName: model,
    id,
    parameters: extra.parameters ?? {},
    inputs: extra.inputs ?? [{ name: 'INPUT0', datatype: 'INT32', shape: [1n], contents: { intContents: [value] } }],
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
      echo('c', 'echo_int8', {
        inputs: [{ name: 'BAD', datatype: 'INT8', shape: [1n], contents: { intContents: [999] } }],
      }),
    );
    stream.write(echo('d', 'delay'));
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
    assert.equal(res[0]?.inferResponse?.outputs[0]?.name, 'OUTPUT0');

    // Still open: later requests are answered, including unknown-model errors.
    const second = take(stream, 3);
    stream.write(echo('f', 'ghost'));
    stream.write(echo('g'));
    stream.write(echo('h', 'echo_int32', { inputs: [] }));
    const more = await second;
    assert.match(more[0]?.errorMessage ?? '', /^Request for unknown model: 'ghost'/);
    assert.equal(more[0]?.inferResponse?.id, 'f');
    assert.equal(more[1]?.inferResponse?.id, 'g');
    assert.match(more[2]?.errorMessage ?? '', /^expected 1 inputs but got 0 inputs for model 'echo_int32'/);

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
    // Slow (40 ms) and instant models alternate: answers are ready out of order.
    for (let i = 0; i < n; i++) stream.write(echo(`r${i}`, i % 2 === 0 ? 'delay' : 'echo_int32', { value: i }));
    const res = await all;
    assert.deepEqual(
      res.map((r) => r.inferResponse?.id),
      Array.from({ length: n }, (_, i) => `r${i}`),
    );
    assert.deepEqual(
      res.map((r) => new Int32Array(Uint8Array.from(r.inferResponse?.rawOutputContents[0] ?? []).buffer)[0]),
      Array.from({ length: n }, (_, i) => i),
      "each answer is its own request's",
    );
    stream.end();
  });

  it('marks responses final when asked (triton_enable_empty_final_response)', async () => {
    const stream = openStream();
    const one = take(stream, 1);
    stream.write(
      echo('z', 'echo_int32', {
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

  it('cancelling the stream aborts its in-flight requests; a queued one never runs', async () => {
    const stream = openStream();
    stream.on('error', () => {});
    const runs = executedValues(h.real, 'slow').length;
    stream.write(echo('s1', 'slow', { value: 1 }));
    const running = await h.real.nextCall();
    stream.write(echo('s2', 'slow', { value: 2 }));
    const queued = await h.real.nextCall();
    assert.equal(queued.ctx.signal?.aborted, false);
    const aborted = new Promise((resolve) => queued.ctx.signal?.addEventListener('abort', resolve));
    stream.cancel();
    await aborted;
    assert.equal((queued.ctx.signal?.reason as InferError | undefined)?.code, 'IG_ERR_CANCELLED');
    await waitAborted(running.ctx.signal);
    // The first was already running; give it time to finish and the second time to (wrongly) start.
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(executedValues(h.real, 'slow').slice(runs), [[1]]);
  });
});

function waitAborted(signal: AbortSignal | undefined): Promise<void> {
  if (!signal || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve()));
}
