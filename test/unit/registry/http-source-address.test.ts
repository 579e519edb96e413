// The pure half of the S12 fetch policy: address classes and the host allowlist. The property
// tests compare against a reference built from node's BlockList and WHATWG URL (reliability.md §4.1 #5).
import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  addressNamed,
  canonicalIp,
  classifyAddress,
  hostAllowed,
  normalizeHost,
  parseAllowEntries,
  parseIp,
} from '../../../src/registry/sources/address-policy.js';

const RUNS = Number(process.env.FC_RUNS ?? 2000);

// Written independently of the rule table: a different mechanism (BlockList) over the same ranges.
const blockedV4 = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blockedV4.addSubnet(net, bits, 'ipv4');

const v4FromInt = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

describe('classifyAddress', () => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.0.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'shared'],
    ['100.128.0.1', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'this-network'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['8.8.8.8', 'public'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fdff:ffff::1', 'unique-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:808:808::', 'public'],
    ['::127.0.0.1', 'reserved'],
    ['2001:4860:4860::8888', 'public'],
    ['2606:4700::1111', 'public'],
    ['not-an-ip', 'invalid'],
    ['1.2.3', 'invalid'],
  ];
  for (const [ip, kind] of cases) test(`${ip} is ${kind}`, () => assert.equal(classifyAddress(ip).kind, kind));

  test('IPv4-mapped forms name the embedded address', () => {
    assert.deepEqual(classifyAddress('::ffff:127.0.0.1'), { kind: 'loopback', embedded: '127.0.0.1' });
  });

  test('every IPv4 address: classified as the BlockList reference says', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        const ip = v4FromInt(n);
        assert.equal(classifyAddress(ip).kind === 'public', !blockedV4.check(ip, 'ipv4'), ip);
      }),
      { numRuns: RUNS },
    );
  });

  test('the IPv4-mapped and NAT64 forms of an address have its class', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        const want = classifyAddress(ip).kind;
        const [a = 0, b = 0, c = 0, d = 0] = ip.split('.').map(Number);
        const hex = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
        for (const form of [`::ffff:${ip}`, `::ffff:${hex}`, `64:ff9b::${hex}`, `0:0:0:0:0:ffff:${hex}`])
          assert.equal(classifyAddress(form).kind, want, form);
      }),
      { numRuns: RUNS },
    );
  });

  test('every notation WHATWG URL accepts for a number classifies like the dotted form', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        const dotted = v4FromInt(n);
        const octets = dotted.split('.').map(Number);
        const forms = [
          String(n),
          `0x${n.toString(16)}`,
          octets.map((o) => `0${o.toString(8)}`).join('.'),
          octets.map((o) => `0x${o.toString(16)}`).join('.'),
          `${octets[0]}.${(n & 0xffffff) >>> 0}`,
          `${dotted}.`,
        ];
        for (const form of forms) {
          const host = normalizeHost(new URL(`http://${form}/`).hostname);
          assert.equal(host, dotted, form);
          assert.equal(classifyAddress(host).kind, classifyAddress(dotted).kind, form);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('IPv6: parseIp agrees with URL serialisation on every address', () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const bytes = parseIp(ip);
        assert.ok(bytes && bytes.length === 16, ip);
        assert.equal(canonicalIp(ip), new URL(`http://[${ip}]/`).hostname.slice(1, -1), ip);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('allowlist', () => {
  test('entries: host, host:port, wildcard, IPv4 and IPv6 literals, IDNA', () => {
    const e = parseAllowEntries([
      'Models.Example.COM',
      '*.cdn.example.com:8443',
      '127.0.0.1:9000',
      '[::1]:9001',
      '::1',
      'bücher.example',
    ]);
    assert.deepEqual(e[0], { host: 'models.example.com', port: undefined, wildcard: false, ip: false });
    assert.deepEqual(e[1], { host: 'cdn.example.com', port: 8443, wildcard: true, ip: false });
    assert.deepEqual(e[2], { host: '127.0.0.1', port: 9000, wildcard: false, ip: true });
    assert.deepEqual(e[3], { host: '::1', port: 9001, wildcard: false, ip: true });
    assert.deepEqual(e[4], { host: '::1', port: undefined, wildcard: false, ip: true });
    assert.equal(e[5]?.host, 'xn--bcher-kva.example');
  });

  for (const bad of ['', 'a/b', 'user@host', 'host:0', 'host:70000', 'host:x', '*.127.0.0.1', 'a b', 'http://x'])
    test(`refuses entry ${JSON.stringify(bad)}`, () =>
      assert.throws(() => parseAllowEntries([bad]), { code: 'IG_ERR_INVALID_ARG' }));

  test('matching: exact, case, trailing dot, default port, wildcard depth', () => {
    const e = parseAllowEntries(['models.example.com', '*.cdn.example.com:8443', '2130706433:9000']);
    const host = (u: string) => {
      const url = new URL(u);
      const def = url.protocol === 'https:' ? 443 : 80;
      return hostAllowed(e, normalizeHost(url.hostname), url.port ? Number(url.port) : def, def);
    };
    assert.equal(host('https://MODELS.example.com./m.onnx'), true);
    assert.equal(host('https://models.example.com:443/m.onnx'), true);
    assert.equal(host('http://models.example.com/m.onnx'), true);
    assert.equal(host('https://models.example.com:6379/'), false);
    assert.equal(host('https://evilmodels.example.com/'), false);
    assert.equal(host('https://models.example.com.evil.net/'), false);
    assert.equal(host('https://a.cdn.example.com:8443/'), true);
    assert.equal(host('https://a.b.cdn.example.com:8443/'), true);
    assert.equal(host('https://cdn.example.com:8443/'), false);
    assert.equal(host('https://a.cdn.example.com/'), false);
    assert.equal(host('http://0x7f000001:9000/'), true);
    assert.equal(host('http://[::ffff:127.0.0.1]:9000/'), false);
  });

  test('an address is named only by an IP entry with the same port', () => {
    const e = parseAllowEntries(['127.0.0.1:9000', 'localhost:9001', '[::1]']);
    assert.equal(addressNamed(e, '127.0.0.1', 9000, 80), true);
    assert.equal(addressNamed(e, '127.0.0.1', 9001, 80), false);
    assert.equal(addressNamed(e, '0:0:0:0:0:0:0:1', 80, 80), true);
    assert.equal(addressNamed(e, '::1', 8080, 80), false);
  });
});
