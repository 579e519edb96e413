/**
 * BYTES through the HTTP codecs are byte-exact (issue #26 item 11): binary tensor data carries any
 * bytes, NUL included; JSON carries any well-formed text, NUL and a leading BOM included, and
 * refuses what a JSON string cannot hold (input: a lone surrogate; output: bytes that are not
 * UTF-8) instead of replacing it with U+FFFD. Over fastify.inject and the echo_bytes model.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeBytesElements, encodeBytesElements } from '../../../../src/core/index.js';
import { closeAll, echoName, postBinary, postJson, setup, splitResponse } from './helpers.js';

after(closeAll);

const URL = `/v2/models/${echoName('BYTES')}/infer`;
const enc = new TextEncoder();

let shared: ReturnType<typeof setup> | undefined;
function ctx(): ReturnType<typeof setup> {
  shared ??= setup();
  return shared;
}

/** The bytes of the BYTES input the backend received in the last call. */
async function received(): Promise<number[][]> {
  const call = (await ctx()).real.calls.at(-1);
  assert.ok(call, 'the request reached the router');
  const input = call.request.inputs[0];
  assert.ok(input, 'with its input');
  return (input.data as Uint8Array[]).map((e) => [...e]);
}

/** Elements as binary input; `binaryOut` picks the output's form. */
async function sendBinary(items: Uint8Array[], binaryOut: boolean) {
  const wire = encodeBytesElements(items);
  const header = {
    inputs: [
      {
        name: 'INPUT0',
        datatype: 'BYTES',
        shape: [1, items.length],
        parameters: { binary_data_size: wire.byteLength },
      },
    ],
    outputs: [{ name: 'OUTPUT0', parameters: { binary_data: binaryOut } }],
  };
  return (await ctx()).app.inject(postBinary(URL, header, [wire]));
}

/** The BYTES elements of a binary response's single output. */
function binaryOutput(res: { rawPayload: Buffer; headers: Record<string, unknown> }, count: number): number[][] {
  const hlen = Number(res.headers['inference-header-content-length']);
  const { tail } = splitResponse(res.rawPayload, hlen);
  const items = decodeBytesElements(tail, count);
  assert.ok(typeof items !== 'string', String(items));
  return items.map((e) => [...e]);
}

const NASTY = ['a\0b', '\0', '', '\ufeffbom', '\ufffd', 'héllo 日本 🙂', '\u0001\u001f"\\'];

describe('BYTES byte-exact over HTTP', () => {
  test('binary in, binary out: any bytes, NUL and invalid UTF-8 included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 8 }), { minLength: 1, maxLength: 6 }), async (items) => {
        const res = await sendBinary(items, true);
        assert.equal(res.statusCode, 200, res.body);
        const want = items.map((e) => [...e]);
        assert.deepEqual(await received(), want);
        assert.deepEqual(binaryOutput(res, items.length), want);
      }),
      { numRuns: 60 },
    );
    const res = await sendBinary([Uint8Array.of(0x61, 0, 0x62), Uint8Array.of(0xff, 0, 0xfe)], true);
    assert.deepEqual(binaryOutput(res, 2), [
      [0x61, 0, 0x62],
      [0xff, 0, 0xfe],
    ]);
  });

  test('JSON in, JSON out: any well-formed text round-trips, "a\\0b" included', async () => {
    const { app } = await ctx();
    const check = async (strings: string[]) => {
      const res = await app.inject(
        postJson(URL, { inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, strings.length], data: strings }] }),
      );
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json().outputs[0].data, strings);
      assert.deepEqual(
        await received(),
        strings.map((s) => [...enc.encode(s)]),
      );
    };
    await check(NASTY);
    assert.ok(
      (
        await app.inject(
          postJson(URL, { inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 1], data: ['a\0b'] }] }),
        )
      ).body.includes('"a\\u0000b"'),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'binary', maxLength: 8 }), { minLength: 1, maxLength: 6 }), check),
      { numRuns: 60 },
    );
  });

  test('JSON in, binary out, and binary in, JSON out, agree with UTF-8', async () => {
    const { app } = await ctx();
    const res = await app.inject(
      postJson(URL, {
        inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, NASTY.length], data: NASTY }],
        outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }],
      }),
    );
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(
      binaryOutput(res, NASTY.length),
      NASTY.map((s) => [...enc.encode(s)]),
    );
    const back = await sendBinary(
      NASTY.map((s) => enc.encode(s)),
      false,
    );
    assert.equal(back.statusCode, 200, back.body);
    assert.deepEqual(back.json().outputs[0].data, NASTY, 'a leading BOM is kept, not eaten by the decoder');
  });

  test('a JSON string with a lone surrogate is refused, not turned into U+FFFD', async () => {
    const { app } = await ctx();
    const before = (await ctx()).real.calls.length;
    const res = await app.inject(
      postJson(URL, '{"inputs":[{"name":"INPUT0","datatype":"BYTES","shape":[1,2],"data":["ok","a\\ud800b"]}]}'),
    );
    assert.equal(res.statusCode, 400, res.body);
    assert.match(res.json().error, /input 'INPUT0': element 1 is not well-formed Unicode/);
    assert.equal((await ctx()).real.calls.length, before, 'refused before the router');
  });

  test('bytes that are not UTF-8 asked for as JSON are a 400 naming the output, not U+FFFD', async () => {
    const res = await sendBinary([enc.encode('fine'), Uint8Array.of(0x61, 0xff)], false);
    assert.equal(res.statusCode, 400, res.body);
    assert.match(
      res.json().error,
      /output 'OUTPUT0' element 1 is not valid UTF-8, which a JSON string cannot carry; ask for it as binary data/,
    );
  });
});
