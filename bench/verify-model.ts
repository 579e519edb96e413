// How long verifying a signed ~100 MB model takes (reliability.md S11: < 1 s), and how long the
// event loop is blocked meanwhile (hashing is chunked: no step should stall it).
//   node --import tsx bench/verify-model.ts [--mb 100] [--rounds 5]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildModel, GraphBuilder } from '../src/onnx/index.js';
import { signVersion, verifyVersion } from '../src/supply/manifest.js';
import { SupplyPolicy } from '../src/supply/policy.js';
import { signingPair } from '../test/unit/supply/helpers.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const mb = Number(args.get('mb') ?? 100);
const rounds = Number(args.get('rounds') ?? 5);

/** y = x + w·0 style model whose one initializer makes the file about `mb` MB. */
function bigModel(): Uint8Array {
  const n = Math.floor((mb * 1_000_000) / 4);
  const w = new Float32Array(n).map((_, i) => (i % 251) / 251);
  const g = new GraphBuilder('big')
    .input('x', 'FP32', [n])
    .initializer('w', 'FP32', [n], w)
    .node('Add', ['x', 'w'], ['y'])
    .output('y', 'FP32', [n]);
  return buildModel(g);
}

const root = mkdtempSync(join(tmpdir(), 'infergate-bench-verify-'));
const dir = join(root, 'big', '1');
mkdirSync(dir, { recursive: true });
const bytes = bigModel();
writeFileSync(join(dir, 'model.onnx'), bytes);
const { privateKeyPem, publicKey } = signingPair();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function timed(label: string, f: () => Promise<unknown>): Promise<void> {
  const times: number[] = [];
  const maxBlock: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
    h.disable();
    maxBlock.push(h.max / 1e6);
  }
  console.log(
    `${label.padEnd(44)} median ${median(times).toFixed(0).padStart(5)} ms   ` +
      `(min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)})   ` +
      `event-loop max delay median ${median(maxBlock).toFixed(1)} ms`,
  );
}

console.log(`model file: ${(bytes.byteLength / 1e6).toFixed(1)} MB, ${rounds} rounds, page cache warm after round 1`);
await timed('sign (hash + Ed25519)', () => signVersion(dir, { model: 'big', version: 1, privateKeyPem }));
await timed('verify (manifest + hash, model kept in memory)', () =>
  verifyVersion(dir, { model: 'big', version: 1, trustedPublicKeys: [publicKey], keep: ['model.onnx'] }),
);
const policy = new SupplyPolicy({ requireSigned: true, trustedPublicKeys: [publicKey] });
await timed('policy.open (verify + external-data check)', () =>
  policy.open({
    model: 'big',
    version: 1,
    backend: 'onnxruntime',
    versionDir: dir,
    path: join(dir, 'model.onnx'),
    parameters: {},
  }),
);
rmSync(root, { recursive: true, force: true });
