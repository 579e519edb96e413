// The ONNX external-data pre-validator (reliability.md S10): every escape is refused before
// onnxruntime touches a file, and no byte of the outside file reaches any message.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { OrtBackend } from '../../../src/backend/ort/backend.js';
import { BackendRegistry } from '../../../src/backend/registry.js';
import type { Backend } from '../../../src/backend/types.js';
import { systemClock } from '../../../src/core/clock.js';
import { InferError } from '../../../src/core/index.js';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
} from '../../../src/gen/onnx-ml_pb.js';
import { ModelRepository } from '../../../src/repository/repository.js';
import type { Scheduler } from '../../../src/scheduler/types.js';
import { checkExternalData, externalDataRefs } from '../../../src/supply/external-data.js';
import { SupplyPolicy } from '../../../src/supply/policy.js';
import { type ExternalSpec, externalModel, floats, tempDir } from './helpers.js';

const root = tempDir();
after(() => rmSync(root, { recursive: true, force: true }));

// The outside file every attack aims at; its bytes must never appear in any message.
const SECRET = 'S3CRET-do-not-leak-0123456789abcdef';
const secretPath = join(root, 'secret.bin');
writeFileSync(secretPath, SECRET);
const leaks = (text: string) =>
  [SECRET, SECRET.slice(0, 8), Buffer.from(SECRET).toString('hex').slice(0, 16), Buffer.from(SECRET).toString('base64')]
    .filter((s) => text.includes(s))
    .map(() => 'secret bytes in a message');

let n = 0;
/** A fresh `<root>/<model>/1/` with the model and w.bin (16 bytes); `setup` adds links. */
function version(ext: ExternalSpec, setup?: (dir: string) => void): { model: string; dir: string; bytes: Uint8Array } {
  const model = `m${++n}`;
  const dir = join(root, 'repo', model, '1');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'w.bin'), floats(1, 2, 3, 4));
  setup?.(dir);
  const bytes = externalModel(ext);
  writeFileSync(join(dir, 'model.onnx'), bytes);
  return { model, dir, bytes };
}

/** Every S10 case: the location or range, and the refusal's reason. */
const CASES: Array<{ name: string; ext: ExternalSpec; setup?: (dir: string) => void; reason: RegExp }> = [
  { name: "'../../secret.bin'", ext: { location: '../../secret.bin' }, reason: /has a '\.\.' segment/ },
  { name: 'an absolute path', ext: { location: secretPath }, reason: /is an absolute path/ },
  { name: "'sub/../../x'", ext: { location: 'sub/../../x' }, reason: /has a '\.\.' segment/ },
  {
    name: 'a symlink in the model dir pointing outside',
    ext: { location: 'link.bin' },
    setup: (d) => symlinkSync(secretPath, join(d, 'link.bin')),
    reason: /goes through a symlink to outside the model directory/,
  },
  {
    name: 'a symlinked sub-directory pointing outside',
    ext: { location: 'sub/secret.bin' },
    setup: (d) => symlinkSync(root, join(d, 'sub')),
    reason: /goes through a symlink to outside the model directory/,
  },
  {
    name: 'a hardlink to an outside file',
    ext: { location: 'hard.bin' },
    setup: (d) => linkSync(secretPath, join(d, 'hard.bin')),
    reason: /is a hardlink/,
  },
  {
    name: 'offset/length past EOF',
    ext: { location: 'w.bin', offset: '0', length: '4096' },
    reason: /run past the end of the file/,
  },
  { name: 'an offset past EOF', ext: { location: 'w.bin', offset: '64' }, reason: /run past the end of the file/ },
  {
    name: 'length 2^40',
    ext: { location: 'w.bin', length: String(2 ** 40) },
    reason: /length 1099511627776 exceeds 2\^40/,
  },
  {
    name: 'a non-numeric offset',
    ext: { location: 'w.bin', offset: '-1' },
    reason: /offset '-1' is not a non-negative/,
  },
];

describe('checkExternalData', () => {
  it('accepts a contained external file and returns it for the manifest', async () => {
    const v = version({ location: 'w.bin', offset: '0', length: '16' });
    assert.deepEqual(await checkExternalData(v.bytes, v.dir), ['w.bin']);
  });

  it('returns nothing for a model without external data (not even decoded)', async () => {
    assert.deepEqual(externalDataRefs(new TextEncoder().encode('no such key in here')), []);
  });

  for (const c of CASES) {
    it(`refuses ${c.name}`, async () => {
      const v = version(c.ext, c.setup);
      await assert.rejects(checkExternalData(v.bytes, v.dir), (err: unknown) => {
        assert.ok(err instanceof InferError);
        assert.equal(err.code, 'IG_ERR_MODEL_LOAD');
        assert.match(err.message, /^external data of tensor 'c' refused: /);
        assert.match(err.message, c.reason);
        assert.deepEqual(leaks(err.message), []);
        return true;
      });
    });
  }

  it('finds references in node attributes too (a Constant whose value is external)', async () => {
    const proto = fromBinary(ModelProtoSchema, externalModel({ location: 'w.bin' }));
    const t = proto.graph!.initializer.pop()!;
    t.externalData[0]!.value = '../../secret.bin';
    proto.graph!.node.unshift(
      create(NodeProtoSchema, {
        opType: 'Constant',
        output: ['c'],
        attribute: [create(AttributeProtoSchema, { name: 'value', type: AttributeProto_AttributeType.TENSOR, t })],
      }),
    );
    await assert.rejects(checkExternalData(toBinary(ModelProtoSchema, proto), root), /has a '\.\.' segment/);
  });
});

/** A backend that fails the test if the repository ever lets it touch a file. */
function untouchable(touched: string[]): Backend {
  return {
    name: 'onnxruntime',
    platforms: ['onnxruntime_onnx'],
    inspect: async (path) => {
      touched.push(path);
      throw new Error('onnxruntime reached');
    },
    load: async (spec) => {
      touched.push(spec.path);
      throw new Error('onnxruntime reached');
    },
    close: async () => {},
  };
}

describe('the supply policy in front of the repository', () => {
  it('refuses every case before the backend touches a file, with the reason in the index', async () => {
    const touched: string[] = [];
    const repoRoot = join(root, 'repo');
    const repo = new ModelRepository({
      root: repoRoot,
      controlMode: 'explicit',
      backends: new BackendRegistry([untouchable(touched)]),
      createScheduler: () => ({}) as Scheduler,
      clock: systemClock,
      modelSource: new SupplyPolicy(),
    });
    for (const c of CASES) {
      const v = version(c.ext, c.setup);
      await assert.rejects(repo.load(v.model), (err: unknown) => {
        assert.match((err as Error).message, c.reason);
        assert.deepEqual(leaks((err as Error).message), []);
        return true;
      });
      const row = repo.index(false).find((r) => r.name === v.model);
      assert.match(row?.reason ?? '', c.reason, `${c.name}: ${JSON.stringify(row)}`);
    }
    assert.deepEqual(touched, []);
    await repo.stop();
  });
});

describe('with the pre-validator bypassed, the pinned onnxruntime (1.30) on its own', () => {
  const backend = new OrtBackend();
  after(() => backend.close());
  // ORT's ValidateExternalDataPath covers the escapes, from a path and from bytes alike; it cannot
  // see a hardlink or check a range, which is why infergate's own check runs first.
  for (const c of CASES.slice(0, 5)) {
    it(`refuses ${c.name} from a path and from a buffer, leaking nothing`, async () => {
      const v = version(c.ext, c.setup);
      const source = {
        bytes: v.bytes,
        sha256: createHash('sha256').update(v.bytes).digest('hex'),
        externalDataDir: v.dir,
      };
      for (const attempt of [backend.inspect(join(v.dir, 'model.onnx')), backend.inspect('unused', source)]) {
        await assert.rejects(attempt, (err: unknown) => {
          const text = `${(err as Error).message} ${String((err as Error).cause)}`;
          assert.match(text, /escapes|Absolute path/i);
          assert.deepEqual(leaks(text), []);
          return true;
        });
      }
    });
  }
});
