// Traffic splits (#13 acceptance, R17): a 10% canary over 20,000 calls gets 9-11%; one sticky key
// always lands on the same arm; a missing key falls back to the weighted draw and is counted; a
// canary that is not READY here gets no calls; explicit versions bypass the split.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { callContext, type InferRequest, seededRandom } from '../../../src/core/index.js';
import type { TrafficPolicy } from '../../../src/registry/types.js';
import type { VersionHandle } from '../../../src/repository/types.js';
import { SplitPolicy } from '../../../src/rollout/split-policy.js';
import { checkPolicy, effectiveTraffic, pickArm, stableHash } from '../../../src/rollout/traffic.js';
import type { Target, VersionPolicy } from '../../../src/router/policy.js';

const canary10: TrafficPolicy = {
  arms: [
    { version: 1, weight: 90 },
    { version: 2, weight: 10 },
  ],
};
const byNumber: VersionPolicy = {
  resolve: (model, requested): Target => ({
    primary: { model, version: Number(requested) } as VersionHandle,
    shadows: [],
  }),
};
const request = (parameters: Record<string, unknown> = {}) => ({ model: 'm', parameters }) as unknown as InferRequest;

test('a 10% canary over 20,000 calls receives between 9% and 11% of them', () => {
  const split = new SplitPolicy({ trafficFor: () => canary10 }, byNumber, { random: seededRandom(42) });
  let canary = 0;
  for (let i = 0; i < 20_000; i++) {
    const t = split.resolve('m', undefined, callContext({ protocol: 'http' }), request()) as Target;
    if (t.primary.version === 2) canary++;
  }
  assert.ok(canary >= 1800 && canary <= 2200, `${canary} of 20000`);
});

test('every call with the same sticky key lands on the same arm (header or parameter)', () => {
  const sticky: TrafficPolicy = { ...canary10, sticky: { header: 'x-user', parameter: 'user' } };
  let missing = 0;
  const split = new SplitPolicy({ trafficFor: () => sticky }, byNumber, {
    random: Math.random,
    onStickyMissing: () => missing++,
  });
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 40 }), (user) => {
      const viaHeader = () =>
        (
          split.resolve(
            'm',
            undefined,
            callContext({ protocol: 'http', header: (n) => (n === 'x-user' ? user : undefined) }),
            request(),
          ) as Target
        ).primary.version;
      const viaParam = () =>
        (split.resolve('m', undefined, callContext({ protocol: 'grpc' }), request({ user })) as Target).primary.version;
      const first = viaHeader();
      for (let i = 0; i < 20; i++) {
        assert.equal(viaHeader(), first);
        assert.equal(viaParam(), first);
      }
    }),
  );
  assert.equal(missing, 0);
  // Keys spread over the arms roughly by weight.
  const onCanary = Array.from({ length: 5000 }, (_, i) => pickArm(sticky, 'm', `user-${i}`, Math.random)).filter(
    (v) => v === 2,
  ).length;
  assert.ok(onCanary > 350 && onCanary < 650, `${onCanary} of 5000 keys on the canary`);
  split.resolve('m', undefined, callContext({ protocol: 'http' }), request());
  assert.equal(missing, 1, 'a call without the key fell back to the weighted draw and was counted');
  assert.equal(stableHash('abc'), stableHash('abc'));
});

test('a call naming a version or alias bypasses the split; shadows get a share; never the primary itself', () => {
  const withShadow: TrafficPolicy = {
    arms: [
      { version: 1, weight: 100 },
      { version: 2, weight: 0 },
    ],
    shadows: [{ version: 2, percent: 50 }],
  };
  const split = new SplitPolicy({ trafficFor: () => withShadow }, byNumber, { random: seededRandom(7) });
  assert.equal((split.resolve('m', '2', callContext({ protocol: 'http' }), request()) as Target).primary.version, 2);
  let shadowed = 0;
  for (let i = 0; i < 2000; i++) {
    const t = split.resolve('m', undefined, callContext({ protocol: 'http' }), request()) as Target;
    assert.equal(t.primary.version, 1);
    if (t.shadows.length) shadowed++;
  }
  assert.ok(shadowed > 900 && shadowed < 1100, `${shadowed} of 2000 shadowed`);
});

test('only READY arms serve: a cold canary’s share goes to the largest ready arm', () => {
  const p: TrafficPolicy = {
    arms: [
      { version: 1, weight: 75 },
      { version: 2, weight: 25 },
    ],
    shadows: [{ version: 2, percent: 100 }],
  };
  assert.deepEqual(
    effectiveTraffic(p, (v) => v === 1),
    { arms: [{ version: 1, weight: 100 }], shadows: [] },
  );
  assert.equal(
    effectiveTraffic(p, () => false),
    undefined,
  );
  assert.deepEqual(effectiveTraffic(p, () => true)?.arms, p.arms);
});

test('bad policies are refused naming the problem', () => {
  const bad: Array<[TrafficPolicy, RegExp]> = [
    [{ arms: [] }, /at least one arm/],
    [
      {
        arms: [
          { version: 1, weight: 60 },
          { version: 2, weight: 30 },
        ],
      },
      /sum to 90, not 100/,
    ],
    [
      {
        arms: [
          { version: 1, weight: 50 },
          { version: 1, weight: 50 },
        ],
      },
      /named twice/,
    ],
    [{ arms: [{ version: 0, weight: 100 }] }, /not a version number/],
    [{ arms: [{ version: 1, weight: 100 }], sticky: {} }, /names a header or a request parameter/],
    [{ arms: [{ version: 1, weight: 100 }], shadows: [{ version: 2, percent: 0 }] }, /percent/],
  ];
  for (const [p, re] of bad) assert.throws(() => checkPolicy(p), re);
});
