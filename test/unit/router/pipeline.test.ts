import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { callContext, InferError, type InferResponse } from '../../../src/core/index.js';
import { compose, type Dispatch, type Exchange, type Stage } from '../../../src/router/pipeline.js';

const call = (): Exchange => ({
  request: { model: 'm', inputs: [], parameters: {} },
  ctx: callContext({ protocol: 'http' }),
  startedAt: 0,
});
const answer: InferResponse = { model: 'm', version: '1', outputs: [] };

describe('compose', () => {
  test('stages run in order around the last dispatch, and unwind in reverse', async () => {
    const seen: string[] = [];
    const stage =
      (name: string): Stage =>
      (next) =>
      async (x) => {
        seen.push(`${name} in`);
        const r = await next(x);
        seen.push(`${name} out`);
        return r;
      };
    const last: Dispatch = async () => {
      seen.push('last');
      return answer;
    };
    assert.equal(await compose([stage('a'), stage('b'), stage('c')], last)(call()), answer);
    assert.deepEqual(seen, ['a in', 'b in', 'c in', 'last', 'c out', 'b out', 'a out']);
  });

  test('a stage that answers by itself short-circuits everything after it', async () => {
    let reached = false;
    const cached: InferResponse = { model: 'm', version: '7', outputs: [] };
    const cache: Stage = () => async () => cached;
    const after: Stage = (next) => (x) => {
      reached = true;
      return next(x);
    };
    const out = await compose([cache, after], async () => answer)(call());
    assert.equal(out, cached);
    assert.equal(reached, false);
  });

  test('a stage that throws rejects the call; outer stages see the error, inner ones never run', async () => {
    const seen: string[] = [];
    const outer: Stage = (next) => async (x) => {
      try {
        return await next(x);
      } catch (err) {
        seen.push(`outer saw ${(err as InferError).code}`);
        throw err;
      }
    };
    const refuse: Stage = () => () => {
      throw new InferError('IG_ERR_INVALID_ARG', 'no');
    };
    const inner: Stage = (next) => (x) => {
      seen.push('inner');
      return next(x);
    };
    await assert.rejects(compose([outer, refuse, inner], async () => answer)(call()), { code: 'IG_ERR_INVALID_ARG' });
    assert.deepEqual(seen, ['outer saw IG_ERR_INVALID_ARG']);
  });

  test('with no stages the last dispatch is the pipeline', async () => {
    assert.equal(await compose([], async () => answer)(call()), answer);
  });
});
