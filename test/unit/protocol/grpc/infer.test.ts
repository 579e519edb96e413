import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { bytesOf, isBytesData, type Tensor } from '../../../../src/core/index.js';
import { rawBytes } from '../../../../src/protocol/grpc/infer-encode.js';
import { echoName, grpcError, type Harness, startHarness } from './harness.js';
import { SAMPLES } from './samples.js';

let h: Harness;
const unexpected: unknown[] = [];
before(async () => {
  h = await startHarness({ onUnexpectedError: (err) => unexpected.push(err) });
});
after(() => h.close());

const lastCall = () => {
  const c = h.real.calls.at(-1);
  assert.ok(c, 'a call reached the router');
  return c;
};
const lastRequest = () => lastCall().request;

/** A minimal valid input to vary. */
const int32 = (name = 'IN') => ({ name, datatype: 'INT32', shape: [2n], contents: { intContents: [1, 2] } });

function rawOf(t: Pick<Tensor, 'data'>): Uint8Array {
  return rawBytes(t as Tensor);
}

describe('ModelInfer raw_input_contents', () => {
  for (const s of SAMPLES) {
    it(`round-trips ${s.datatype}`, async () => {
      const raw = rawOf(s);
      const res = await h.call('modelInfer', {
        modelName: echoName(s.datatype),
        id: `raw-${s.datatype}`,
        inputs: [{ name: 'INPUT0', datatype: s.datatype, shape: [3n] }],
        rawInputContents: [raw],
      });
      assert.equal(res.id, `raw-${s.datatype}`);
      assert.equal(res.modelName, echoName(s.datatype));
      assert.equal(res.modelVersion, '1');
      assert.equal(res.outputs.length, 1);
      assert.equal(res.outputs[0]?.name, 'OUTPUT0');
      assert.equal(res.outputs[0]?.datatype, s.datatype);
      assert.deepEqual(res.outputs[0]?.shape, [3n]);
      assert.deepEqual(Buffer.from(res.rawOutputContents[0] ?? []), Buffer.from(raw));
      const got = lastRequest().inputs[0] as Tensor;
      assert.equal(got.datatype, s.datatype);
      assert.deepEqual(got.shape, [3]);
      assert.deepEqual(got.data, s.data);
      if (!isBytesData(got.data)) {
        // Owned, aligned memory: transferable to a worker without dragging the message along.
        assert.equal(got.data.byteOffset, 0);
        assert.equal(got.data.buffer.byteLength, got.data.byteLength);
      }
    });
  }

  it('keeps an empty raw entry for a zero-element output', async () => {
    const res = await h.call('modelInfer', {
      modelName: 'two',
      inputs: [
        { name: 'A', datatype: 'INT32', shape: [0n] },
        { name: 'B', datatype: 'INT32', shape: [1n] },
      ],
      rawInputContents: [new Uint8Array(0), bytesOf(Int32Array.of(9))],
    });
    assert.deepEqual(
      res.outputs.map((o) => [o.name, o.shape]),
      [
        ['OA', [0n]],
        ['OB', [1n]],
      ],
    );
    assert.equal(res.rawOutputContents.length, 2);
    assert.equal(res.rawOutputContents[0]?.byteLength, 0);
    assert.deepEqual([...new Int32Array(Uint8Array.from(res.rawOutputContents[1] ?? []).buffer)], [9]);
  });
});

describe('ModelInfer typed contents', () => {
  for (const s of SAMPLES.filter((x) => x.contents)) {
    it(`decodes ${s.datatype} from contents and answers raw`, async () => {
      const res = await h.call('modelInfer', {
        modelName: echoName(s.datatype),
        inputs: [{ name: 'INPUT0', datatype: s.datatype, shape: [3n], contents: s.contents }],
      });
      assert.deepEqual(lastRequest().inputs[0]?.data, s.data);
      assert.deepEqual(Buffer.from(res.rawOutputContents[0] ?? []), Buffer.from(rawOf(s)));
      assert.equal(res.outputs[0]?.contents, undefined, 'outputs never use typed contents');
    });
  }

  it('accepts a zero-element tensor without contents', async () => {
    await h.call('modelInfer', {
      modelName: 'echo_int64',
      inputs: [{ name: 'INPUT0', datatype: 'INT64', shape: [0n] }],
    });
    assert.equal((lastRequest().inputs[0]?.data as BigInt64Array | undefined)?.length, 0);
  });
});

describe('ModelInfer parameters and outputs', () => {
  it('maps reserved and custom parameters', async () => {
    await h.call('modelInfer', {
      modelName: 'echo_int32',
      modelVersion: '1',
      parameters: {
        priority: { parameterChoice: { case: 'uint64Param', value: 2n } },
        timeout: { parameterChoice: { case: 'int64Param', value: 5000n } },
        sequence_id: { parameterChoice: { case: 'int64Param', value: 42n } },
        sequence_start: { parameterChoice: { case: 'boolParam', value: true } },
        custom_s: { parameterChoice: { case: 'stringParam', value: 'x' } },
        custom_d: { parameterChoice: { case: 'doubleParam', value: 0.5 } },
        big: { parameterChoice: { case: 'uint64Param', value: 2n ** 63n } },
        triton_enable_empty_final_response: { parameterChoice: { case: 'boolParam', value: true } },
      },
      inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1n], contents: { intContents: [1] } }],
    });
    const { request: r, ctx } = lastCall();
    assert.equal(ctx.protocol, 'grpc');
    assert.equal(r.version, '1');
    assert.equal(r.priority, 2);
    assert.equal(r.timeoutUs, 5000);
    assert.equal(r.parameters['priority'], undefined);
    assert.equal(r.parameters['sequence_id'], 42);
    assert.equal(r.parameters['sequence_start'], true);
    assert.equal(r.parameters['custom_s'], 'x');
    assert.equal(r.parameters['custom_d'], 0.5);
    assert.equal(r.parameters['big'], 2n ** 63n);
    assert.ok(ctx.signal instanceof AbortSignal);
    assert.equal(ctx.deadline, Number.POSITIVE_INFINITY, 'no client deadline');
  });

  it('accepts priority as int64_param', async () => {
    await h.call('modelInfer', {
      modelName: 'echo_int32',
      parameters: { priority: { parameterChoice: { case: 'int64Param', value: 1n } } },
      inputs: [int32('INPUT0')],
    });
    assert.equal(lastRequest().priority, 1);
  });

  it('passes requested outputs with classification', async () => {
    const res = await h.call('modelInfer', {
      modelName: 'two',
      inputs: [
        { name: 'A', datatype: 'INT32', shape: [1n], contents: { intContents: [1] } },
        { name: 'B', datatype: 'INT32', shape: [1n], contents: { intContents: [2] } },
      ],
      outputs: [
        {
          name: 'OB',
          parameters: {
            classification: { parameterChoice: { case: 'int64Param', value: 3n } },
            note: { parameterChoice: { case: 'stringParam', value: 'n' } },
          },
        },
      ],
    });
    assert.deepEqual(lastRequest().outputs, [{ name: 'OB', classification: 3, parameters: { note: 'n' } }]);
    assert.deepEqual(
      res.outputs.map((o) => [o.name, o.datatype, o.shape]),
      [['OB', 'BYTES', [1n]]],
    );
    // Classified by the router: "value:index" of the top entry, one length-prefixed BYTES element.
    assert.equal(
      Buffer.from(res.rawOutputContents[0] ?? [])
        .subarray(4)
        .toString(),
      '2:0',
    );
  });

  it('asks for all outputs when none are listed', async () => {
    const res = await h.call('modelInfer', { modelName: 'two', inputs: [int32('A'), int32('B')] });
    assert.equal(lastRequest().outputs, undefined);
    assert.equal(lastRequest().id, undefined);
    assert.deepEqual(
      res.outputs.map((o) => o.name),
      ['OA', 'OB'],
    );
  });
});

const INVALID: Array<[string, Record<string, unknown>, RegExp]> = [
  [
    'raw count differs from inputs',
    {
      inputs: [int32('A'), int32('B')].map((i) => ({ ...i, contents: undefined })),
      rawInputContents: [new Uint8Array(8)],
    },
    /expected 2 raw_input_contents/,
  ],
  [
    'contents together with raw',
    { inputs: [int32('RAWX')], rawInputContents: [new Uint8Array(8)] },
    /contents field must not be specified when using raw_input_contents for 'RAWX' for model 'echo'/,
  ],
  [
    'contents together with raw, with a raw count that is also wrong: the contents text comes first',
    { inputs: [int32('A'), int32('RAWY')], rawInputContents: [new Uint8Array(8)] },
    /contents field must not be specified when using raw_input_contents for 'A' for model 'echo'/,
  ],
  [
    'raw byte size mismatch',
    { inputs: [{ name: 'SZ', datatype: 'FP32', shape: [3n] }], rawInputContents: [new Uint8Array(8)] },
    /'SZ'.*12/,
  ],
  [
    'BYTES prefix past the end',
    { inputs: [{ name: 'STR', datatype: 'BYTES', shape: [1n] }], rawInputContents: [Uint8Array.of(9, 0, 0, 0, 1)] },
    /'STR'/,
  ],
  [
    'BYTES element count mismatch',
    { inputs: [{ name: 'STR2', datatype: 'BYTES', shape: [2n] }], rawInputContents: [Uint8Array.of(0, 0, 0, 0)] },
    /'STR2'.*1 elements/,
  ],
  ['negative dimension', { inputs: [{ ...int32('NEG'), shape: [-1n, 2n] }] }, /'NEG'.*negative/],
  ['unknown datatype', { inputs: [{ ...int32('DT'), datatype: 'FLOAT' }] }, /datatype.*'DT'/],
  [
    'typed element count mismatch',
    { inputs: [{ ...int32('CNT'), shape: [3n] }] },
    /'CNT'.*int_contents holds 2 elements but the shape declares 3/,
  ],
  [
    'INT8 out of range',
    { inputs: [{ name: 'I8', datatype: 'INT8', shape: [1n], contents: { intContents: [200] } }] },
    /'I8'.*200.*INT8/,
  ],
  [
    'UINT16 out of range',
    { inputs: [{ name: 'U16', datatype: 'UINT16', shape: [1n], contents: { uintContents: [70000] } }] },
    /'U16'.*out of range/,
  ],
  [
    'wrong contents field',
    { inputs: [{ name: 'WF', datatype: 'INT32', shape: [1n], contents: { fp32Contents: [1] } }] },
    /'WF'.*int_contents.*fp32_contents/,
  ],
  [
    'FP16 in typed contents',
    { inputs: [{ name: 'H', datatype: 'FP16', shape: [1n], contents: { intContents: [1] } }] },
    /'H'.*FP16.*raw_input_contents/,
  ],
  ['missing data', { inputs: [{ name: 'NODATA', datatype: 'INT32', shape: [2n] }] }, /'NODATA' .*no data/],
  [
    'reserved triton_ key',
    { inputs: [int32()], parameters: { triton_secret: { parameterChoice: { case: 'boolParam', value: true } } } },
    /triton_/,
  ],
  [
    'priority as string',
    { inputs: [int32()], parameters: { priority: { parameterChoice: { case: 'stringParam', value: '1' } } } },
    /'priority'.*uint64_param/,
  ],
  [
    'timeout as uint64',
    { inputs: [int32()], parameters: { timeout: { parameterChoice: { case: 'uint64Param', value: 1n } } } },
    /'timeout'.*int64_param/,
  ],
  [
    'negative timeout',
    { inputs: [int32()], parameters: { timeout: { parameterChoice: { case: 'int64Param', value: -1n } } } },
    /timeout/,
  ],
  [
    'classification as string',
    {
      inputs: [int32()],
      outputs: [
        { name: 'OUTC', parameters: { classification: { parameterChoice: { case: 'stringParam', value: '2' } } } },
      ],
    },
    /classification.*'OUTC'/,
  ],
];

describe('ModelInfer validation', () => {
  for (const [what, req, message] of INVALID) {
    it(`rejects ${what} with INVALID_ARGUMENT`, async () => {
      const before = h.real.calls.length;
      const err = await grpcError(h.call('modelInfer', { modelName: 'echo', ...req }));
      assert.equal(err.code, status.INVALID_ARGUMENT, err.details);
      assert.match(err.details, message);
      assert.equal(h.real.calls.length, before, 'an invalid request never reaches the router');
    });
  }

  it("duplicate input names → INVALID_ARGUMENT with the router's text; nothing runs", async () => {
    const calls = h.real.calls.length;
    const runs = h.real.backend.executions.length;
    const err = await grpcError(
      h.call('modelInfer', { modelName: 'echo_int32', inputs: [int32('INPUT0'), int32('INPUT0')] }),
    );
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.equal(err.details, "input 'INPUT0' is specified more than once for model 'echo_int32'");
    assert.equal(h.real.calls.length, calls + 1, 'the decoder let it through to the router');
    assert.equal(h.real.backend.executions.length, runs, 'the router refused it before any work');
  });

  it("inputs that do not match the model → the router's Triton texts", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ inputs: [int32('X')] }, "unexpected inference input 'X' for model 'echo_int32'"],
      [
        { inputs: [{ ...int32('INPUT0'), datatype: 'FP32', contents: { fp32Contents: [1, 2] } }] },
        "inference input 'INPUT0' data-type is 'FP32', but model 'echo_int32' expects 'INT32'",
      ],
      [
        { inputs: [] },
        "expected 1 inputs but got 0 inputs for model 'echo_int32'. Got input(s) [], but missing required input(s) ['INPUT0']. Please provide all required input(s).",
      ],
    ];
    for (const [req, text] of cases) {
      const err = await grpcError(h.call('modelInfer', { modelName: 'echo_int32', ...req }));
      assert.equal(err.code, status.INVALID_ARGUMENT);
      assert.equal(err.details, text);
    }
  });
});

describe('ModelInfer errors', () => {
  it('unknown model → NOT_FOUND with Triton text', async () => {
    const err = await grpcError(h.call('modelInfer', { modelName: 'nope', inputs: [] }));
    assert.equal(err.code, status.NOT_FOUND);
    assert.equal(err.details, "Request for unknown model: 'nope' is not found");
  });

  it('unknown version → NOT_FOUND', async () => {
    const err = await grpcError(h.call('modelInfer', { modelName: 'echo', modelVersion: '7', inputs: [] }));
    assert.equal(err.code, status.NOT_FOUND);
    assert.match(err.details, /^Request for unknown model: 'echo' version 7/);
  });

  it('model errors keep their code and message', async () => {
    const err = await grpcError(h.call('modelInfer', { modelName: 'fail', inputs: [int32('INPUT0')] }));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.equal(err.details, 'model says no');
    // A failing execution (the backend's own failure) is INTERNAL with the backend's text.
    h.real.backend.instances('echo_int32')[0]?.failNextExecute('injected execution failure');
    const failed = await grpcError(h.call('modelInfer', { modelName: 'echo_int32', inputs: [int32('INPUT0')] }));
    assert.equal(failed.code, status.INTERNAL);
    assert.equal(failed.details, 'injected execution failure');
  });

  it('not-ready model version → UNAVAILABLE; no ready version at all → NOT_FOUND', async () => {
    const err = await grpcError(
      h.call('modelInfer', { modelName: 'notready', modelVersion: '1', inputs: [int32('INPUT0')] }),
    );
    assert.equal(err.code, status.UNAVAILABLE);
    assert.equal(err.details, "'notready' version 1 is not at ready state");
    const none = await grpcError(h.call('modelInfer', { modelName: 'notready', inputs: [int32('INPUT0')] }));
    assert.equal(none.code, status.NOT_FOUND);
    assert.equal(none.details, "Request for unknown model: 'notready' has no available versions");
  });

  it('unexpected exceptions → INTERNAL "internal error", no details leak', async () => {
    const n = unexpected.length;
    const err = await grpcError(h.call('modelInfer', { modelName: 'boom', inputs: [int32('INPUT0')] }));
    assert.equal(err.code, status.INTERNAL);
    assert.equal(err.details, 'internal error');
    assert.equal(unexpected.length, n + 1, 'the hook saw the real error');
    assert.match(String(unexpected.at(-1)), /secret internal detail/);
  });

  it('shared memory input → NOT_FOUND naming the region (the raw entry belongs to the other input)', async () => {
    const err = await grpcError(
      h.call('modelInfer', {
        modelName: 'echo',
        inputs: [
          { name: 'A', datatype: 'INT32', shape: [2n] },
          {
            name: 'S',
            datatype: 'INT32',
            shape: [2n],
            parameters: {
              shared_memory_region: { parameterChoice: { case: 'stringParam', value: 'input_data' } },
              shared_memory_byte_size: { parameterChoice: { case: 'int64Param', value: 8n } },
            },
          },
        ],
        rawInputContents: [new Uint8Array(8)],
      }),
    );
    assert.equal(err.code, status.NOT_FOUND);
    assert.equal(err.details, "Unable to find shared memory region: 'input_data'");
  });

  it('shared memory output → NOT_FOUND', async () => {
    const err = await grpcError(
      h.call('modelInfer', {
        modelName: 'echo',
        inputs: [],
        outputs: [
          {
            name: 'O',
            parameters: {
              shared_memory_region: { parameterChoice: { case: 'stringParam', value: 'out' } },
              shared_memory_byte_size: { parameterChoice: { case: 'int64Param', value: 8n } },
            },
          },
        ],
      }),
    );
    assert.equal(err.code, status.NOT_FOUND);
    assert.match(err.details, /'out'/);
  });
});

describe('ModelInfer large messages', () => {
  it('carries a 20 MiB tensor both ways', async () => {
    const n = (20 * 1024 * 1024) / 4;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i += 4096) data[i] = i;
    const res = await h.call('modelInfer', {
      modelName: 'echo_fp32',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [BigInt(n)] }],
      rawInputContents: [bytesOf(data)],
    });
    const out = res.rawOutputContents[0] ?? new Uint8Array(0);
    assert.equal(out.byteLength, 20 * 1024 * 1024);
    assert.ok(Buffer.from(out).equals(Buffer.from(bytesOf(data))));
  });
});
