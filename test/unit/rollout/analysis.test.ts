// The rollout analysis (issue #13 item 2): the statistics helpers against reference values from
// scipy, the decision rules on hand-made cases, and properties over simulated traffic: nothing is
// decided before the minimum sample, identical arms are promoted and rolled back no more often
// than the test's level implies, and a clearly worse canary is rolled back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { seededRandom } from '../../../src/core/random.js';
import { type ArmObservations, analyze, type Decision, type Gates } from '../../../src/rollout/analysis.js';
import * as stats from '../../../src/rollout/stats.js';

/** |got − want| within rel·|want| (plus a tiny absolute floor for values at 0). */
function close(got: number, want: number, rel = 1e-9): void {
  assert.ok(Math.abs(got - want) <= rel * Math.abs(want) + 1e-15, `${got} vs ${want}`);
}

// Reference values were computed once with scipy 1.17.1 (numpy 2) in a throwaway virtualenv
// (.cache/venv-stats); the calls are named beside each table. The test needs no Python.
describe('statistics helpers against scipy', () => {
  it('normal tail and its inverse', () => {
    // scipy.stats.norm.sf(z)
    const sf: Array<[number, number]> = [
      [-3, 0.9986501019683699],
      [0, 0.5],
      [1.6448536269514722, 0.050000000000000044],
      [2.5, 0.006209665325776132],
      [3.5, 0.00023262907903552502],
      [8, 6.22096057427174e-16],
      [20, 2.7536241186061556e-89],
    ];
    for (const [z, want] of sf) close(stats.normalSf(z), want, 1e-12);
    // scipy.stats.norm.isf(q)
    const isf: Array<[number, number]> = [
      [0.05, 1.6448536269514729],
      [0.025, 1.9599639845400545],
      [0.01, 2.3263478740408408],
      [1e-6, 4.753424308822899],
      [0.9, -1.2815515655446004],
    ];
    for (const [q, want] of isf) close(stats.normalIsf(q), want, 1e-12);
  });

  it('score test for a difference of proportions (Farrington–Manning)', () => {
    // delta = 0: the pooled z-test, p = (x1+x2)/(n1+n2), z = (x1/n1 − x2/n2)/sqrt(p(1−p)(1/n1+1/n2)),
    // pValue = scipy.stats.norm.sf(z).
    // delta ≠ 0: the restricted MLE solved with scipy.optimize.brentq on the constrained score
    // equation x1/p1 − (n1−x1)/(1−p1) + x2/p2 − (n2−x2)/(1−p2) = 0, p1 = p2 + delta; then
    // z = (x1/n1 − x2/n2 − delta)/sqrt(p1(1−p1)/n1 + p2(1−p2)/n2), pValue = norm.sf(z).
    // (statsmodels 0.15.0 score_test_proportions_2indep is off here by ~1e-3 in z: its cubic has
    // count0 where nobs0 belongs, statsmodels/statsmodels#10269.)
    const cases: Array<[number, number, number, number, number, number, number]> = [
      [5, 500, 0, 500, 0, 2.2416791983111017, 0.012491056621684279],
      [3, 250, 1, 400, 0, 1.5067251203306107, 0.06594056492654746],
      [18, 1500, 15, 1500, 0, 0.52512916483917, 0.29974670145457355],
      [30, 1000, 10, 1000, 0.01, 1.652424940768806, 0.04922397734579256],
      [0, 500, 0, 500, 0.01, -2.2473328748774737, 0.9876906193095925],
      [12, 2000, 25, 3000, 0.005, -2.6424378454092388, 0.9958844214306097],
      [60, 200, 2, 200, 0.01, 7.816794152308795, 2.709280231782793e-15],
    ];
    for (const [x1, n1, x2, n2, delta, z, p] of cases) {
      const t = stats.diffScoreTest(x1, n1, x2, n2, delta);
      close(t.z, z, 1e-9);
      close(t.pValue, p, 1e-9);
    }
  });

  it('Newcombe hybrid score bounds of a difference (one-sided 1 − a)', () => {
    // statsmodels 0.15.0 confint_proportions_2indep(x1, n1, x2, n2, method='newcomb',
    // compare='diff', alpha=2*a): a two-sided 1 − 2a interval has the one-sided 1 − a bounds.
    const cases: Array<[number, number, number, number, number, number, number]> = [
      [30, 1000, 10, 1000, 0.05, 0.009834020074792392, 0.030979120977418954],
      [0, 500, 0, 500, 0.05, -0.005381964629841946, 0.005381964629841946],
      [5, 500, 0, 500, 0.05 / 3, -0.0007987908381584807, 0.02480032792444219],
      [60, 200, 2, 200, 0.05, 0.2359184207183383, 0.34607904776563525],
      [12, 2000, 25, 3000, 0.025, -0.007034290979341896, 0.002869824913966903],
    ];
    for (const [x1, n1, x2, n2, a, lower, upper] of cases) {
      const b = stats.newcombeDiffBounds(x1, n1, x2, n2, stats.normalIsf(a));
      close(b.lower, lower, 1e-9);
      close(b.upper, upper, 1e-9);
    }
  });

  it('Wilson bounds and the score test they invert', () => {
    // z = scipy.stats.norm.isf(a); center = (p + z²/2n)/(1 + z²/n),
    // half = z/(1 + z²/n)·sqrt(p(1−p)/n + z²/4n²) (equal to statsmodels proportion_confint(x, n,
    // alpha=2*a, method='wilson') to the last digit).
    const cases: Array<[number, number, number, number, number]> = [
      [0, 200, 0.05, 0, 0.013347160654775633],
      [20, 200, 0.05, 0.07027110227833182, 0.14040662624548872],
      [20, 200, 0.05 / 3, 0.06334642034068594, 0.1543668072026449],
      [7, 3000, 0.05, 0.0012656396710645375, 0.004297857385952437],
      [200, 200, 0.05, 0.9866528393452243, 1],
      [1, 1, 0.05, 0.269865948784054, 1],
    ];
    for (const [x, n, a, lower, upper] of cases) {
      const b = stats.wilsonBounds(x, n, stats.normalIsf(a));
      close(b.lower, lower, 1e-9);
      close(b.upper, upper, 1e-9);
    }
    assert.deepEqual(stats.wilsonBounds(0, 0, 1.64), { lower: 0, upper: 1 });
    // z = (x/n − p0)/sqrt(p0(1−p0)/n), pValue = scipy.stats.norm.sf(z)
    const tests: Array<[number, number, number, number, number]> = [
      [20, 200, 0.02, 8.081220356417687, 3.206091195393923e-16],
      [7, 3000, 0.002, 0.4086571521491728, 0.3413956412023254],
      [3, 500, 0.02, -2.23606797749979, 0.9873263406612659],
    ];
    for (const [x, n, p0, z, p] of tests) {
      const t = stats.oneProportionScoreTest(x, n, p0);
      close(t.z, z, 1e-12);
      close(t.pValue, p, 1e-9);
    }
  });

  it('Mann–Whitney U on binned data with midranks for ties', () => {
    // x = np.repeat(np.arange(k) + 0.5, xCounts), y likewise; scipy.stats.mannwhitneyu(x, y,
    // alternative='greater', method='asymptotic', use_continuity=True) → (U, pvalue).
    const cases: Array<[number[], number[], number, number]> = [
      [[3, 5, 2, 0], [4, 4, 1, 1], 53, 0.4194757916675603],
      [[0, 10, 30, 60, 5], [5, 20, 40, 40, 0], 7125, 3.649226718978014e-5],
      [[1, 0, 0, 0], [0, 0, 0, 1], 0, 0.9772498680518208],
      [[200, 300, 400, 100], [210, 310, 390, 90], 512000, 0.16373452358709245],
      [[2, 2], [2, 2], 8, 0.5656694685044666],
    ];
    for (const [xs, ys, u, p] of cases) {
      const t = stats.mannWhitneyBinned(xs, ys);
      assert.equal(t.u, u);
      close(t.pValue, p, 1e-9);
    }
    // Everything in one bin: no ordering information, never evidence.
    assert.equal(stats.mannWhitneyBinned([0, 50, 0], [0, 70, 0]).pValue, 1);
  });

  it('histogram p99 interpolates within the bucket and flags the +Inf bucket', () => {
    const bounds = [10, 20, 30];
    // rank 99 of 100 falls in (20, 30], 49 of its 49 values needed: 20 + 10 · 49/49.
    assert.deepEqual(stats.histogramQuantile(bounds, [0, 50, 49, 1], 0.99), { value: 30, censored: false });
    // rank 99 of 100 in the first bucket, which starts at 0: 10 · 99/100.
    assert.deepEqual(stats.histogramQuantile(bounds, [100, 0, 0, 0], 0.99), { value: 9.9, censored: false });
    assert.deepEqual(stats.histogramQuantile(bounds, [10, 10, 10, 70], 0.99), { value: 30, censored: true });
    assert.equal(stats.histogramQuantile(bounds, [0, 0, 0, 0], 0.99), null);
  });
});

const BOUNDS = [1, 2, 5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 100, 150, 200, 300, 500, 1000, 2500];

/** Latency is lognormal: median ms and log-sd sigma. */
type ArmModel = { errorRate: number; medianMs: number; sigma: number; disagreeRate: number };

function normal(rand: () => number): number {
  // Box–Muller; 1 − u keeps the log argument in (0, 1].
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** n requests of one arm drawn from its model, timed into BOUNDS, all of them shadow-compared. */
function simulateArm(rand: () => number, m: ArmModel, n: number): ArmObservations {
  const counts = new Array<number>(BOUNDS.length + 1).fill(0);
  let errors = 0;
  let disagreed = 0;
  for (let i = 0; i < n; i++) {
    if (rand() < m.errorRate) errors++;
    else {
      const ms = m.medianMs * Math.exp(m.sigma * normal(rand));
      const k = BOUNDS.findIndex((b) => ms <= b);
      counts[k === -1 ? BOUNDS.length : k]!++;
    }
    if (rand() < m.disagreeRate) disagreed++;
  }
  return { requests: n, errors, latency: { bounds: [...BOUNDS], counts }, compared: n, disagreed };
}

/** Share of each decision over `runs` simulated steps with sizes drawn from [lo, hi]. */
function rates(seed: number, runs: number, b: ArmModel, c: ArmModel, gates: Gates, [lo, hi]: [number, number]) {
  const rand = seededRandom(seed);
  const tally = { promote: 0, hold: 0, rollback: 0 };
  for (let r = 0; r < runs; r++) {
    const n = lo + Math.floor(rand() * (hi - lo + 1));
    tally[analyze(simulateArm(rand, b, n), simulateArm(rand, c, n), gates).action]++;
  }
  return { promote: tally.promote / runs, hold: tally.hold / runs, rollback: tally.rollback / runs };
}

const HEALTHY: ArmModel = { errorRate: 0.01, medianMs: 20, sigma: 0.5, disagreeRate: 0.005 };
const GATES: Gates = { minSamples: 500, maxErrorRateDelta: 0.01, maxP99Ratio: 1.2, maxDivergence: 0.02 };
const ALPHA = 0.05;

describe('analyze on simulated traffic', () => {
  const identical: Array<[string, ArmModel, Gates, number]> = [
    ['realistic gates: promoted in the large majority, rarely rolled back', HEALTHY, GATES, 0.9],
    // delta 0, ratio 1 and a divergence gate equal to the true rate put each rollback test exactly
    // on its null hypothesis, where it rejects with probability about alpha/3 (Bonferroni), so the
    // family rolls back about alpha of the time (measured 4–6.5% over seeds 1–5).
    [
      'every null boundary: the false-rollback rate is about the family alpha',
      { errorRate: 0.02, medianMs: 20, sigma: 0.5, disagreeRate: 0.02 },
      { minSamples: 500, maxErrorRateDelta: 0, maxP99Ratio: 1, maxDivergence: 0.02 },
      0,
    ],
  ];
  for (const [name, model, gates, minPromote] of identical) {
    it(`identical arms, ${name}`, () => {
      fc.assert(
        fc.property(fc.integer(), (seed) => {
          const r = rates(seed, 400, model, model, gates, [2000, 5000]);
          assert.ok(r.promote >= minPromote, `promoted ${r.promote}`);
          assert.ok(r.rollback <= 2 * ALPHA, `rolled back ${r.rollback}`);
        }),
        { numRuns: 3 },
      );
    });
  }

  const worse: Array<[string, ArmModel, string]> = [
    ['30% errors vs 1%', { ...HEALTHY, errorRate: 0.3 }, 'error rate'],
    ['latency doubled (p99 2x)', { ...HEALTHY, medianMs: 40 }, 'latency'],
    ['10% disagreement vs a 2% gate', { ...HEALTHY, disagreeRate: 0.1 }, 'divergence'],
  ];
  const small: Gates = { ...GATES, minSamples: 200 };
  for (const [name, canary, gate] of worse) {
    it(`rolls back a clearly worse canary at 200 samples: ${name}`, () => {
      const rand = seededRandom(42);
      const d = analyze(simulateArm(rand, HEALTHY, 200), simulateArm(rand, canary, 200), small);
      assert.equal(d.action, 'rollback', d.reason);
      assert.match(d.reason, new RegExp(`^rollback: .*${gate}`));
      fc.assert(
        fc.property(fc.integer(), (seed) => {
          const r = rates(seed, 200, HEALTHY, canary, small, [200, 200]);
          assert.ok(r.rollback >= 0.95, `rolled back ${r.rollback}`);
        }),
        { numRuns: 5 },
      );
    });
  }
});

const timed = (counts: number[]) => arm(1000, 0, { latency: { bounds: [...BOUNDS], counts } });

/** An arm of n requests with e errors, all answered ones in one latency bucket. */
function arm(n: number, e: number, over: Partial<ArmObservations> = {}): ArmObservations {
  const counts = new Array<number>(BOUNDS.length + 1).fill(0);
  counts[5] = n - e;
  return { requests: n, errors: e, latency: { bounds: [...BOUNDS], counts }, compared: n, disagreed: 0, ...over };
}

describe('analyze decisions', () => {
  it('holds while collecting, naming what is short', () => {
    const d = analyze(arm(499, 0), arm(1000, 0), GATES);
    assert.equal(d.action, 'hold');
    assert.equal(d.reason, 'collecting: baseline 499/500 requests');
    const c = analyze(arm(600, 0), arm(600, 0, { compared: 10 }), GATES);
    assert.equal(c.reason, 'collecting: 10/500 comparisons');
    // Comparisons only matter with a divergence gate.
    const { maxDivergence: _, ...noDivergence } = GATES;
    assert.equal(analyze(arm(600, 0), arm(600, 0, { compared: 10 }), noDivergence).action, 'promote');
  });

  it('holds on invalid input, naming the problem, and never throws', () => {
    const cases: Array<[ArmObservations, ArmObservations, Gates, RegExp]> = [
      [arm(100, 0), arm(100, 101), GATES, /canary: requests and errors/],
      [arm(600, 0), arm(600, 0, { latency: { bounds: [1, 2], counts: [1, 2, 3] } }), GATES, /same bounds/],
      [arm(600, 0), arm(600, 0, { latency: { bounds: [2, 1], counts: [1, 2, 3] } }), GATES, /increasing/],
      [arm(600, 0), arm(600, 0), { ...GATES, alpha: Number.NaN }, /alpha/],
      [arm(600, 0), arm(600, 0), { ...GATES, minSamples: 0 }, /minSamples/],
    ];
    for (const [b, c, g, why] of cases) {
      const d = analyze(b, c, g);
      assert.equal(d.action, 'hold');
      assert.match(d.reason, /^invalid observations: /);
      assert.match(d.reason, why);
      assert.deepEqual(JSON.parse(JSON.stringify(d.evidence)), d.evidence);
    }
  });

  it('zero-error arms pass the error gate with an honest bound', () => {
    const d = analyze(arm(2000, 0), arm(2000, 0), { minSamples: 500, maxErrorRateDelta: 0.01 });
    assert.equal(d.action, 'promote', d.reason);
    // Wilson upper bound of 0/2000 at z = norm.isf(0.05), the other arm contributing nothing:
    // the Wald interval would claim a bound of 0 here.
    close(d.evidence.gates.errorRate!.upperBound, 0.0013509442079184166, 1e-9);
  });

  it('splits alpha over the configured rollback tests (Bonferroni)', () => {
    assert.equal(analyze(arm(600, 0), arm(600, 0), GATES).evidence.rollbackAlpha, ALPHA / 3);
    assert.equal(analyze(arm(600, 0), arm(600, 0), { minSamples: 1, maxP99Ratio: 2 }).evidence.rollbackAlpha, ALPHA);
    const none = analyze(arm(600, 0), arm(600, 0), { minSamples: 500 });
    assert.deepEqual([none.action, none.reason], ['promote', 'promote: no gates configured']);
  });

  it('a p99 over the ratio without a significant rank test holds, naming latency', () => {
    // The canary is faster in the body and slower in the extreme tail: its p99 is higher, but it
    // is not stochastically greater.
    const base = new Array<number>(BOUNDS.length + 1).fill(0);
    const canary = [...base];
    base[8] = 1000; // all in (30, 40]
    canary[4] = 970; // (10, 15]
    canary[13] = 30; // (100, 150]
    const d = analyze(timed(base), timed(canary), { minSamples: 500, maxP99Ratio: 1.2 });
    assert.equal(d.action, 'hold');
    assert.match(d.reason, /^inconclusive: latency .*not significantly slower/);
    assert.ok(d.evidence.gates.latency!.pValue > 0.5);
  });

  it('a p99 in the +Inf bucket is only a bound on the ratio', () => {
    const fast = new Array<number>(BOUNDS.length + 1).fill(0);
    const slow = [...fast];
    fast[5] = 1000;
    slow[BOUNDS.length] = 1000; // beyond 2500 ms: p99 ≥ 2500, the ratio ≥ 2500/19.9
    const g: Gates = { minSamples: 500, maxP99Ratio: 1.2 };
    const worse = analyze(timed(fast), timed(slow), g);
    assert.equal(worse.action, 'rollback', worse.reason);
    assert.equal(worse.evidence.gates.latency!.ratioKind, 'lower');
    // Reversed, the ratio is an upper bound far below 1.2: a pass is still sound.
    const better = analyze(timed(slow), timed(fast), g);
    assert.equal(better.action, 'promote', better.reason);
    assert.equal(better.evidence.gates.latency!.ratioKind, 'upper');
  });
});

const optionalRate = fc.option(fc.double({ min: 0, max: 0.5, noNaN: true }), { nil: undefined });
const arbGates: fc.Arbitrary<Gates> = fc.record({
  minSamples: fc.integer({ min: 1, max: 5000 }),
  maxErrorRateDelta: optionalRate,
  maxP99Ratio: fc.option(fc.double({ min: 0.5, max: 3, noNaN: true }), { nil: undefined }),
  maxDivergence: optionalRate,
  alpha: fc.option(fc.double({ min: 0.001, max: 0.5, noNaN: true }), { nil: undefined }),
});
const anyNumber = fc.oneof(fc.nat({ max: 20_000 }), fc.integer(), fc.double());
const arbConsistent: fc.Arbitrary<ArmObservations> = fc
  .record({
    n: fc.nat({ max: 20_000 }),
    e: fc.double({ min: 0, max: 1, noNaN: true }),
    counts: fc.array(fc.nat({ max: 5000 }), { minLength: BOUNDS.length + 1, maxLength: BOUNDS.length + 1 }),
    compared: fc.nat({ max: 20_000 }),
    d: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ n, e, counts, compared, d }) => {
    const latency = { bounds: [...BOUNDS], counts };
    return { requests: n, errors: Math.floor(n * e), latency, compared, disagreed: Math.floor(compared * d) };
  });
const arbWild: fc.Arbitrary<ArmObservations> = fc.record({
  requests: anyNumber,
  errors: anyNumber,
  latency: fc.record({ bounds: fc.array(anyNumber), counts: fc.array(anyNumber) }),
  compared: anyNumber,
  disagreed: anyNumber,
});
const arbArm = fc.oneof({ arbitrary: arbConsistent, weight: 3 }, arbWild);
// Simulated steps, often of identical arms, so that every outcome (promote included) comes up.
const arbModel: fc.Arbitrary<ArmModel> = fc.record({
  errorRate: fc.double({ min: 0, max: 0.3, noNaN: true }),
  medianMs: fc.double({ min: 2, max: 200, noNaN: true }),
  sigma: fc.double({ min: 0.1, max: 1, noNaN: true }),
  disagreeRate: fc.double({ min: 0, max: 0.1, noNaN: true }),
});
const arbPair: fc.Arbitrary<[ArmObservations, ArmObservations]> = fc.oneof(
  fc.tuple(arbArm, arbArm),
  fc
    .tuple(fc.integer(), fc.nat({ max: 3000 }), arbModel, fc.option(arbModel, { nil: undefined }))
    .map(([seed, n, b, c]): [ArmObservations, ArmObservations] => {
      const rand = seededRandom(seed);
      return [simulateArm(rand, b, n), simulateArm(rand, c ?? b, n)];
    }),
);

describe('analyze properties', () => {
  it('never promotes or rolls back while an arm (or the comparisons) is below minSamples', () => {
    fc.assert(
      fc.property(
        arbPair,
        arbGates,
        fc.constantFrom('baseline', 'canary', 'compared'),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        ([b, c], g, which, f) => {
          const short = Math.floor(f * g.minSamples);
          const gates = which === 'compared' ? { ...g, maxDivergence: g.maxDivergence ?? 0.02 } : g;
          const baseline = which === 'baseline' ? { ...b, requests: short } : b;
          const canary =
            which === 'canary' ? { ...c, requests: short } : which === 'compared' ? { ...c, compared: short } : c;
          assert.equal(analyze(baseline, canary, gates).action, 'hold');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('the evidence is plain JSON and the decision follows the gates', () => {
    fc.assert(
      fc.property(arbPair, arbGates, ([b, c], g) => {
        const d: Decision = analyze(b, c, g);
        assert.deepEqual(JSON.parse(JSON.stringify(d)), d);
        const outcomes = Object.values(d.evidence.gates).map((e) => e.outcome);
        if (d.action === 'rollback') assert.ok(outcomes.includes('fail'));
        if (d.action === 'promote') assert.ok(outcomes.every((o) => o === 'pass'));
      }),
      { numRuns: 500 },
    );
  });
});
