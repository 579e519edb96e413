/**
 * The pure half of the fetch policy (reliability.md S12): which IP addresses a model fetch may
 * connect to, and which hosts the operator allowlisted. Kept free of I/O so the property tests can
 * throw every notation at it; http.ts does the resolving, pinning and fetching.
 *
 * Addresses are compared as bytes, never as text: `::ffff:127.0.0.1`, `::ffff:7f00:1` and
 * `127.0.0.1` are one address to the kernel, and must be one address here.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { invalidArg } from '../../core/index.js';
import { quoteName } from '../names.js';

/** Why an address is refused; 'public' is the only class a fetch may reach without naming it. */
export type AddressKind =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unique-local'
  | 'unspecified'
  | 'this-network'
  | 'multicast'
  | 'broadcast'
  | 'shared'
  | 'reserved'
  | 'invalid';

export interface AddressClass {
  kind: AddressKind;
  /** The IPv4 address an IPv6 form embeds (mapped, NAT64, 6to4), when that decided the class. */
  embedded?: string;
}

type Rule = [prefix: number[], bits: number, kind: AddressKind];

// Order matters: the first matching rule wins, so narrow rules come before the ranges holding them.
const V4_RULES: Rule[] = [
  [[0, 0, 0, 0], 32, 'unspecified'],
  [[0], 8, 'this-network'],
  [[10], 8, 'private'],
  [[100, 64], 10, 'shared'],
  [[127], 8, 'loopback'],
  [[169, 254], 16, 'link-local'],
  [[172, 16], 12, 'private'],
  [[192, 0, 0], 24, 'reserved'],
  [[192, 0, 2], 24, 'reserved'],
  [[192, 168], 16, 'private'],
  [[198, 18], 15, 'reserved'],
  [[198, 51, 100], 24, 'reserved'],
  [[203, 0, 113], 24, 'reserved'],
  [[224], 4, 'multicast'],
  [[255, 255, 255, 255], 32, 'broadcast'],
  [[240], 4, 'reserved'],
];

const V6_RULES: Rule[] = [
  [[], 128, 'unspecified'],
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 128, 'loopback'],
  // Deprecated IPv4-compatible form: nothing legitimate uses it, and some stacks still route it.
  [[], 96, 'reserved'],
  [[0, 0x64, 0xff, 0x9b, 0, 1], 48, 'private'],
  // Discard-only, Teredo (its client address is obfuscated, so it cannot be checked), documentation.
  [[1, 0, 0, 0, 0, 0, 0, 0], 64, 'reserved'],
  [[0x20, 0x01, 0, 0], 32, 'reserved'],
  [[0x20, 0x01, 0x0d, 0xb8], 32, 'reserved'],
  [[0xfc], 7, 'unique-local'],
  [[0xfe, 0x80], 10, 'link-local'],
  // Deprecated site-local: still honoured as private by older routers.
  [[0xfe, 0xc0], 10, 'private'],
  [[0xff], 8, 'multicast'],
];

/** The 4 or 16 bytes of an address in any notation `net` accepts (brackets and a zone id allowed). */
export function parseIp(text: string): number[] | undefined {
  let s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (isIPv4(s)) return s.split('.').map(Number);
  if (!isIPv6(s)) return undefined;
  const last = s.lastIndexOf(':');
  const tail = s.slice(last + 1);
  const groups: number[] = [];
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    s = `${s.slice(0, last + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = s.split('::');
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const fill = rest === undefined ? 0 : 8 - left.length - right.length;
  for (const g of [...left, ...Array<string>(fill).fill('0'), ...right]) groups.push(Number.parseInt(g, 16));
  if (groups.length !== 8) return undefined;
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

function matches(bytes: readonly number[], [prefix, bits]: Rule): boolean {
  for (let i = 0; i < bits; i += 8) {
    const mask = bits - i >= 8 ? 0xff : (0xff << (8 - (bits - i))) & 0xff;
    if (((bytes[i / 8] ?? 0) & mask) !== ((prefix[i / 8] ?? 0) & mask)) return false;
  }
  return true;
}

function classifyV4(bytes: readonly number[]): AddressKind {
  return V4_RULES.find((r) => matches(bytes, r))?.[2] ?? 'public';
}

/** Classifies an address; anything but 'public' is refused unless the operator named it. */
export function classifyAddress(text: string): AddressClass {
  const bytes = parseIp(text);
  if (!bytes) return { kind: 'invalid' };
  if (bytes.length === 4) return { kind: classifyV4(bytes) };
  // Forms that carry an IPv4 address the packet really goes to (the kernel for ::ffff:0:0/96, a
  // NAT64 or 6to4 relay for the others) are as reachable as that IPv4 address.
  const embedded = embeddedV4(bytes);
  if (embedded) {
    const kind = classifyV4(embedded);
    return kind === 'public' ? { kind } : { kind, embedded: embedded.join('.') };
  }
  return { kind: V6_RULES.find((r) => matches(bytes, r))?.[2] ?? 'public' };
}

function embeddedV4(b: readonly number[]): number[] | undefined {
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return b.slice(12);
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12)) return b.slice(12);
  if (b[0] === 0x20 && b[1] === 0x02) return b.slice(2, 6);
  return undefined;
}

const DESCRIPTIONS: Record<Exclude<AddressKind, 'public'>, string> = {
  loopback: 'a loopback address',
  private: 'a private (RFC 1918 / site-local) address',
  'link-local': 'a link-local address',
  'unique-local': 'a unique-local (fc00::/7) address',
  unspecified: 'the unspecified address',
  'this-network': "a 'this network' (0.0.0.0/8) address",
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  shared: 'a shared CGNAT (100.64.0.0/10) address',
  reserved: 'a reserved or special-purpose address',
  invalid: 'not a valid IP address',
};

/** "a loopback address (IPv4 127.0.0.1 embedded)": the end of a refusal message. */
export function describeAddress(c: AddressClass): string {
  if (c.kind === 'public') return 'a public address';
  return c.embedded ? `${DESCRIPTIONS[c.kind]} (IPv4 ${c.embedded} embedded)` : DESCRIPTIONS[c.kind];
}

/** One form per address (the WHATWG serialisation), so allowlist entries compare as addresses. */
export function canonicalIp(text: string): string | undefined {
  const bytes = parseIp(text);
  if (!bytes) return undefined;
  if (bytes.length === 4) return bytes.join('.');
  const hex = bytes.map((x) => x.toString(16).padStart(2, '0')).join('');
  return new URL(`http://[${hex.replace(/(.{4})(?!$)/g, '$1:')}]/`).hostname.slice(1, -1);
}

/** A URL hostname as the allowlist compares it: WHATWG-normalised, no trailing dot, no brackets. */
export function normalizeHost(hostname: string): string {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

export interface AllowEntry {
  /** Normalised host; for an IP, its canonical form. */
  host: string;
  /** Absent: the scheme's default port only, so naming a host never opens its other services. */
  port?: number;
  /** `*.example.com`: any subdomain of `host`, not `host` itself. */
  wildcard: boolean;
  /** True when the entry is a literal IP, which also allows that address to be private. */
  ip: boolean;
}

const ENTRY = /^(\[[^\]]*\]|[^:[\]]*)(?::([0-9]{1,5}))?$/;

/** Parses `--registry-fetch-allow` entries once, so a typo fails at start-up, not at first fetch. */
export function parseAllowEntries(entries: readonly string[]): AllowEntry[] {
  return entries.map((raw) => {
    const bad = () => invalidArg(`fetch allowlist entry ${quoteName(raw)} is not a host, host:port or *.domain`);
    let text = raw.trim();
    // A bare IPv6 address has no room for a port; bracket it so the grammar below reads it.
    if (isIPv6(text)) text = `[${text}]`;
    const wildcard = text.startsWith('*.');
    if (wildcard) text = text.slice(2);
    const m = ENTRY.exec(text);
    if (!m?.[1]) throw bad();
    const port = m[2] === undefined ? undefined : Number(m[2]);
    if (port !== undefined && (port < 1 || port > 65535)) throw bad();
    let url: URL;
    try {
      url = new URL(`http://${m[1]}/`);
    } catch {
      throw bad();
    }
    if (url.pathname !== '/' || url.username || url.port) throw bad();
    let host = normalizeHost(url.hostname);
    const ip = canonicalIp(host);
    if (ip !== undefined) {
      if (wildcard) throw bad();
      host = ip;
    }
    if (!host) throw bad();
    return { host, port, wildcard, ip: ip !== undefined };
  });
}

function portMatches(entry: AllowEntry, port: number, defaultPort: number): boolean {
  return (entry.port ?? defaultPort) === port;
}

/** Whether a (normalised) host and port are allowlisted. */
export function hostAllowed(entries: readonly AllowEntry[], host: string, port: number, defaultPort: number): boolean {
  const ip = canonicalIp(host);
  const name = ip ?? host;
  return entries.some((e) => {
    if (!portMatches(e, port, defaultPort)) return false;
    if (e.wildcard) return ip === undefined && name.endsWith(`.${e.host}`);
    return e.host === name;
  });
}

/** Whether the operator named this very address (with this port), which overrides its class. */
export function addressNamed(
  entries: readonly AllowEntry[],
  address: string,
  port: number,
  defaultPort: number,
): boolean {
  const ip = canonicalIp(address);
  return ip !== undefined && entries.some((e) => e.ip && e.host === ip && portMatches(e, port, defaultPort));
}
