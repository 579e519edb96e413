import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ClientUnaryCall, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import type { InferError } from '../../../../src/core/index.js';
import { grpcError, type Harness, startHarness } from './harness.js';

let h: Harness;
before(async () => {
  h = await startHarness({ shutdownGraceMs: 200 });
});
after(() => h.close());

const slow = { modelName: 'slow', inputs: [] };

describe('cancellation and deadlines', () => {
  it('a cancelled call aborts the InferRequest signal', async () => {
    const arrived = h.fake.arrived;
    const c = h.client as unknown as {
      modelInfer(req: unknown, md: Metadata, cb: (e: ServiceError | null) => void): ClientUnaryCall;
    };
    let clientErr: ServiceError | null = null;
    const finished = new Promise<void>((resolve) => {
      const call = c.modelInfer(slow, new Metadata(), (e) => {
        clientErr = e;
        resolve();
      });
      void arrived.then(() => call.cancel());
    });
    const req = await arrived;
    await finished;
    assert.equal((clientErr as ServiceError | null)?.code, status.CANCELLED);
    await waitFor(() => req.signal?.aborted === true);
    assert.equal((req.signal?.reason as InferError | undefined)?.code, 'IG_ERR_CANCELLED');
    assert.ok(h.fake.aborts.includes(req.signal?.reason));
  });

  it('a call past its deadline gets DEADLINE_EXCEEDED and its signal aborts', async () => {
    const arrived = h.fake.arrived;
    const started = Date.now();
    const err = await grpcError(h.call('modelInfer', slow, { deadline: Date.now() + 300 }));
    assert.equal(err.code, status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - started < 1000);
    const req = await arrived;
    await waitFor(() => req.signal?.aborted === true);
    assert.equal((req.signal?.reason as InferError | undefined)?.code, 'IG_ERR_DEADLINE_EXCEEDED');
  });

  it('completed calls are not aborted afterwards', async () => {
    await h.call('modelInfer', { modelName: 'echo', inputs: [] }, { deadline: Date.now() + 5000 });
    const req = h.fake.requests.at(-1);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(req?.signal?.aborted, false);
  });

  it('close() finishes even with a call that never completes', async () => {
    const local = await import('./harness.js').then((m) => m.startHarness({ shutdownGraceMs: 100 }));
    const arrived = local.fake.arrived;
    const pending = grpcError(local.call('modelInfer', slow));
    await arrived;
    const t0 = Date.now();
    await local.close();
    assert.ok(Date.now() - t0 < 2000, 'forced after the grace period');
    const err = await pending;
    assert.notEqual(err.code, status.OK);
  });
});

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
