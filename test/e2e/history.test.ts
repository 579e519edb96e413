// Jepsen-style history check (reliability.md R24, issue #15 item 6), short CI form: about 25 s of
// bounded load on a real server process while a seeded nemesis forces every fault kind this checkout
// supports (worker crash mid-batch, worker hang when the hook exists, poll-mode version swap, SIGTERM
// and restart on the same ports, a deadline-bound burst), then the offline checker over the whole
// history. The seed is printed; INFERGATE_HISTORY_SEED replays another one, INFERGATE_HISTORY_KINDS
// (comma-separated) narrows the kinds for triage, INFERGATE_HISTORY_FILE keeps the history as JSON
// lines. `npm run bench:history` is the long form. Asserts outcomes only (no timings): 0 violations,
// and each fault kind ran and had its effect.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FaultKind } from '../history/history.js';
import { availableKinds, runHistory } from '../history/run.js';

const SEED = Number(process.env['INFERGATE_HISTORY_SEED'] ?? 15_024);
const ONLY = process.env['INFERGATE_HISTORY_KINDS']?.split(',').map((k) => k.trim()) as FaultKind[] | undefined;
const FILE = process.env['INFERGATE_HISTORY_FILE'];

test(`history check: seeded faults of every kind, 0 violations (seed ${SEED})`, async () => {
  const kinds = (await availableKinds()).filter((k) => ONLY === undefined || ONLY.includes(k));
  const r = await runHistory({
    seed: SEED,
    seconds: 25,
    kinds,
    forceEach: true,
    ...(FILE ? { historyFile: FILE } : {}),
  });
  assert.deepEqual(
    r.violations.slice(0, 20),
    [],
    `${r.violations.length} violations (seed ${SEED}; replay with INFERGATE_HISTORY_SEED=${SEED})`,
  );
  assert.ok(r.summary.outcomes['ok']! > 100, `only ${r.summary.outcomes['ok']} requests answered`);
  for (const kind of kinds) {
    const effects = r.summary.effects.filter((e) => e.kind === kind);
    assert.ok(effects.length > 0, `no ${kind} fault ran`);
    assert.ok(
      effects.some((e) => e.observed),
      `${kind} had no observable effect: ${effects.map((e) => e.detail).join(' | ')}`,
    );
  }
});
