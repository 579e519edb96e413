import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ClientUnaryCall, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import type { InferError } from '../../../../src/core/index.js';
import { DROP_REASONS } from '../../../../src/observability/stats.js';
import { executedValues } from '../real-services.js';
import { grpcError, type Harness, startHarness } from './harness.js';

let h: Harness;
before(async () => {
  h = await startHarness({ shutdownGraceMs: 200 });
});
after(() => h.close());

/** A request to a one-instance model taking 300 ms per execution, carrying `v`. */
const slow = (v: number, model = 'slow') => ({
  modelName: model,
  inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1n], contents: { intContents: [v] } }],
});

describe('cancellation and deadlines', () => {
  it('a cancelled call aborts its call signal; queued behind a slow request, it never runs', async () => {
    const running = h.call('modelInfer', slow(1));
    await h.real.nextCall();
    const c = h.client as unknown as {
      modelInfer(req: unknown, md: Metadata, cb: (e: ServiceError | null) => void): ClientUnaryCall;
    };
    let clientErr: ServiceError | null = null;
    let call: ClientUnaryCall | undefined;
    const finished = new Promise<void>((resolve) => {
      call = c.modelInfer(slow(2), new Metadata(), (e) => {
        clientErr = e;
        resolve();
      });
    });
    const queued = await h.real.nextCall();
    assert.equal(queued.ctx.signal?.aborted, false);
    call?.cancel();
    await finished;
    assert.equal((clientErr as ServiceError | null)?.code, status.CANCELLED);
    await waitFor(() => queued.ctx.signal?.aborted === true);
    assert.equal((queued.ctx.signal?.reason as InferError | undefined)?.code, 'IG_ERR_CANCELLED');
    await running;
    await settle();
    assert.deepEqual(executedValues(h.real, 'slow'), [[1]], 'the cancelled request never reached the instance');
    assert.equal(h.real.stats.get('slow', 1).drops[DROP_REASONS.indexOf('cancelled')], 1);
  });

  it('a client deadline that passes behind a slow request → DEADLINE_EXCEEDED; it never runs', async () => {
    const runs = executedValues(h.real, 'slow').length;
    const running = h.call('modelInfer', slow(3));
    await h.real.nextCall();
    const started = Date.now();
    const err = await grpcError(h.call('modelInfer', slow(4), { deadline: Date.now() + 100 }));
    assert.equal(err.code, status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - started < 1000);
    await running;
    await settle();
    assert.deepEqual(executedValues(h.real, 'slow').slice(runs), [[3]], 'only the request ahead of it ran');
    // Whichever saw the deadline first ended the call in the router: the scheduler's deadline
    // sweep (DEADLINE_EXCEEDED), or grpc-js's deadline timer, which aborts the call signal with
    // the deadline as its reason (the scheduler then drops the job as cancelled). On a loaded
    // machine the call may even have been refused before it reached the router.
    const late = h.real.calls.find((c) => (c.request.inputs[0]?.data as Int32Array | undefined)?.[0] === 4);
    if (late !== undefined) {
      assert.ok(Number.isFinite(late.ctx.deadline), 'the router got the client deadline');
      await waitFor(() => late.error !== undefined);
      const reason = (late.ctx.signal?.reason as InferError | undefined)?.code;
      assert.ok(
        late.error?.code === 'IG_ERR_DEADLINE_EXCEEDED' ||
          (late.error?.code === 'IG_ERR_CANCELLED' && reason === 'IG_ERR_DEADLINE_EXCEEDED'),
        `ended by its deadline: ${late.error?.code} (signal: ${reason})`,
      );
    }
  });

  it('completed calls are not aborted afterwards', async () => {
    const input = { name: 'INPUT0', datatype: 'INT32', shape: [1n], contents: { intContents: [1] } };
    await h.call('modelInfer', { modelName: 'echo_int32', inputs: [input] }, { deadline: Date.now() + 5000 });
    const call = h.real.calls.at(-1);
    assert.ok(call && call.ctx.deadline <= Date.now() + 5000);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(call.ctx.signal?.aborted, false);
  });

  it('close() finishes even with a call that never completes', async () => {
    const local = await import('./harness.js').then((m) => m.startHarness({ shutdownGraceMs: 100 }));
    const pending = grpcError(local.call('modelInfer', slow(5, 'stuck')));
    await local.real.nextCall();
    const t0 = Date.now();
    await local.close();
    assert.ok(Date.now() - t0 < 2000, 'forced after the grace period');
    const err = await pending;
    assert.notEqual(err.code, status.OK);
  });
});

/** Long enough for a wrongly queued request to have started on the instance. */
function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 50));
}

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
