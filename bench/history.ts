// Long Jepsen-style history run (reliability.md R24): a seeded random nemesis (worker crash, worker
// hang where the hook exists, poll-mode version swap, SIGTERM and restart on the same ports, deadline
// bursts) against a real server process under bounded closed-loop load, then the offline checker.
// Prints the seed first and the summary last; exits 1 on any violation. Never run as a test.
//   npm run bench:history -- [--seconds 300] [--seed N] [--clients 8] [--think-ms 50]
//                            [--kinds crash,hang,swap,restart,burst] [--no-force] [--out history.jsonl]
// Each kind runs once first (in a seeded order), then random kinds; --no-force draws them all at random.
import type { FaultKind } from '../test/history/history.js';
import { availableKinds, runHistory } from '../test/history/run.js';

const argv = process.argv.slice(2);
const value = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : def;
};
const seconds = Number(value('seconds', '300'));
const seed = Number(value('seed', String(Date.now() % 1_000_000)));
if (!(seconds > 0) || !Number.isInteger(seed)) throw new Error('--seconds must be > 0 and --seed an integer');
const supported = await availableKinds();
const asked = value('kinds', supported.join(',')).split(',') as FaultKind[];
const unknown = asked.filter((k) => !supported.includes(k));
if (unknown.length > 0) throw new Error(`fault kinds not available here: ${unknown.join(', ')}`);
const out = value('out', '');

const r = await runHistory({
  seed,
  seconds,
  clients: Number(value('clients', '8')),
  thinkMs: Number(value('think-ms', '50')),
  kinds: asked,
  forceEach: !argv.includes('--no-force'),
  ...(out ? { historyFile: out } : {}),
});
if (r.summary.effects.some((e) => !e.observed)) console.log('note: some faults had no observable effect (see above)');
process.exit(r.violations.length === 0 ? 0 : 1);
