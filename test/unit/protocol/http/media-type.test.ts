// Bodies the server does not read (pickle, YAML, XML, multipart, text) are refused with 415 naming
// the type, before a byte is read; JSON, the binary extension's type and curl's default are read.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { closeAll, ECHOES, setup } from './helpers.js';

after(closeAll);

const URL = '/v2/models/echo_int32/infer';
const json = JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 2], data: [1, 2] }] });
const post = (headers: Record<string, string>) => ({ method: 'POST' as const, url: URL, payload: json, headers });

describe('request media types', () => {
  test('types the server does not read → 415 naming the type and what to send instead', async () => {
    const { app, real } = await setup(undefined, ECHOES);
    for (const type of [
      'application/x-python-pickle',
      'application/yaml',
      'application/xml',
      'text/xml',
      'text/plain',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await app.inject(post({ 'content-type': type }));
      assert.equal(res.statusCode, 415, type);
      assert.match(res.json().error, new RegExp(`unsupported Content-Type '${type.split(';')[0]}'.*application/json`));
      assert.equal(res.headers.connection, 'close');
    }
    assert.equal(real.calls.length, 0, 'none reached the router');
  });

  test('JSON (with charset or +json), no type, octet-stream and curl’s form default are read', async () => {
    const { app } = await setup(undefined, ECHOES);
    for (const type of [
      'application/json',
      'Application/JSON; charset=utf-8',
      'application/vnd.infer+json',
      'application/x-www-form-urlencoded',
    ]) {
      const res = await app.inject(post({ 'content-type': type }));
      assert.equal(res.statusCode, 200, `${type}: ${res.body}`);
    }
    const none = await app.inject({ method: 'POST', url: URL, payload: Buffer.from(json) });
    assert.equal(none.statusCode, 200, none.body);
  });

  test('an unknown Content-Encoding → 415 naming it', async () => {
    const { app } = await setup(undefined, ECHOES);
    const res = await app.inject(post({ 'content-type': 'application/json', 'content-encoding': 'br' }));
    assert.equal(res.statusCode, 415);
    assert.match(res.json().error, /unsupported Content-Encoding 'br'; use gzip or deflate/);
  });
});
