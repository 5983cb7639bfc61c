// Which addresses a connection made for a tenant-supplied URL may reach. The
// check runs where the connection is made: on IP literals before connecting,
// and inside the DNS lookup of the socket itself (a custom `lookup`), so a name
// that resolves elsewhere at connect time than when it was first checked (DNS
// rebinding) is caught too.
//
// - link-local (169.254.0.0/16, fe80::/10) and the cloud metadata services
//   (fd00:ec2::/64, 100.100.100.200, 192.0.0.192): never;
// - loopback (127.0.0.0/8, ::1) and private (0.0.0.0/8, 10/8, 172.16/12,
//   192.168/16, 100.64/10, fc00::/7, fec0::/10, ::): only with `allowPrivate`;
// - everything else: allowed.
// IPv4 inside IPv6 (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64
// 64:ff9b::/96 and 64:ff9b:1::/48, 6to4 2002::/16) counts as its IPv4 address.
// Decimal, hex and octal IPv4 spellings (https://2852039166) are normalised by
// the WHATWG URL parser before they get here.
//
// A refusal says the class of the address, never the address itself nor any
// connection detail: a condition message must not tell a tenant what is
// reachable from the operator's network.
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { proxyAgentOptions } from './proxy.ts';

export type AddressClass = 'public' | 'private' | 'loopback' | 'link-local';

/** What a connection for one URL may reach. */
export interface EgressPolicy {
  /** Loopback and private addresses too (never link-local or metadata addresses). */
  allowPrivate: boolean;
}

/** A connection refused by the egress policy; `name` is EgressRefusedError. */
export class EgressRefusedError extends Error {
  readonly code = 'EGRESS_REFUSED';
  /** The host as the URL names it (a name or a literal), never what it resolved to. */
  readonly host: string;
  readonly addressClass: Exclude<AddressClass, 'public'>;
  constructor(host: string, addressClass: Exclude<AddressClass, 'public'>) {
    super(`${host} resolves to an address that is not allowed (${addressClass})`);
    this.name = 'EgressRefusedError';
    this.host = host;
    this.addressClass = addressClass;
  }
}

export function isEgressRefused(err: unknown): err is EgressRefusedError {
  return (err as { code?: unknown } | null)?.code === 'EGRESS_REFUSED';
}

type V4Rule = [base: number, bits: number, cls: Exclude<AddressClass, 'public'>];
const v4 = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
/** Most specific first: the first match decides. */
const V4_RULES: V4Rule[] = [
  [v4(100, 100, 100, 200), 32, 'link-local'], // Alibaba Cloud metadata (inside 100.64/10)
  [v4(192, 0, 0, 192), 32, 'link-local'], // Oracle Cloud classic metadata
  [v4(169, 254, 0, 0), 16, 'link-local'], // AWS/GCP/Azure/OpenStack metadata, ECS/EKS agents
  [v4(127, 0, 0, 0), 8, 'loopback'],
  [v4(0, 0, 0, 0), 8, 'private'], // 0.0.0.0 reaches the local host on Linux
  [v4(10, 0, 0, 0), 8, 'private'],
  [v4(172, 16, 0, 0), 12, 'private'],
  [v4(192, 168, 0, 0), 16, 'private'],
  [v4(100, 64, 0, 0), 10, 'private'], // carrier-grade NAT, also used inside clusters
];

function classifyV4(n: number): AddressClass {
  for (const [base, bits, cls] of V4_RULES) {
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    if ((n & mask) >>> 0 === base) return cls;
  }
  return 'public';
}

function parseV4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return v4(Number(parts[0]), Number(parts[1]), Number(parts[2]), Number(parts[3]));
}

/** The 16 bytes of an IPv6 address (zone and brackets allowed), or undefined. */
function parseV6(text: string): number[] | undefined {
  let s = text.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  // A trailing dotted quad becomes its two hex groups.
  const dotted = /:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(s);
  if (dotted) {
    const n = parseV4(dotted[1]!);
    if (n === undefined) return undefined;
    s = `${s.slice(0, dotted.index + 1)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0;
  if (fill < 0) return undefined;
  const all = [...head, ...Array<string>(fill).fill('0'), ...rest];
  if (all.length !== 8 || !all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return all.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 255];
  });
}

function classifyV6(b: number[]): AddressClass {
  const at = (i: number) => b[i]!;
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const embedded = (i: number) => classifyV4(v4(at(i), at(i + 1), at(i + 2), at(i + 3)));
  if (zero(0, 15) && at(15) === 1) return 'loopback'; // ::1
  if (zero(0, 16)) return 'private'; // :: (the local host)
  if (zero(0, 10) && at(10) === 0xff && at(11) === 0xff) return embedded(12); // ::ffff:a.b.c.d
  if (zero(0, 12)) return embedded(12); // ::a.b.c.d (deprecated IPv4-compatible)
  if (at(0) === 0x00 && at(1) === 0x64 && at(2) === 0xff && at(3) === 0x9b) {
    if (zero(4, 12)) return embedded(12); // NAT64 64:ff9b::/96
    if (at(4) === 0 && at(5) === 1) return embedded(12); // NAT64 local use 64:ff9b:1::/48
  }
  if (at(0) === 0x20 && at(1) === 0x02) return embedded(2); // 6to4 2002:a.b.c.d::/48
  if (at(0) === 0xfe && (at(1) & 0xc0) === 0x80) return 'link-local'; // fe80::/10
  // AWS's IPv6 metadata service, EKS Pod Identity and time sync: fd00:ec2::/64.
  if (at(0) === 0xfd && at(1) === 0x00 && at(2) === 0x0e && at(3) === 0xc2 && zero(4, 8)) return 'link-local';
  if ((at(0) & 0xfe) === 0xfc) return 'private'; // fc00::/7 unique local
  if (at(0) === 0xfe && (at(1) & 0xc0) === 0xc0) return 'private'; // fec0::/10 site-local
  return 'public';
}

/** The class of an IP address in any textual form Node accepts; undefined for a name. */
export function addressClass(address: string): AddressClass | undefined {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare.replace(/%.*$/, ''));
  if (family === 4) return classifyV4(parseV4(bare)!);
  if (family === 6) {
    const bytes = parseV6(bare);
    // Node accepted it, so this parser must too; refuse rather than guess if not.
    return bytes ? classifyV6(bytes) : 'link-local';
  }
  return undefined;
}

/** The class that makes `address` refused under `policy`, if it is refused. */
export function refusedClass(
  address: string,
  policy: EgressPolicy,
): Exclude<AddressClass, 'public'> | undefined {
  const cls = addressClass(address);
  if (cls === undefined || cls === 'public') return undefined;
  if (cls === 'link-local') return cls;
  return policy.allowPrivate ? undefined : cls;
}

/** Throws EgressRefusedError for an IP-literal host the policy refuses; a name passes (its lookup checks it). */
export function assertHostAllowed(hostname: string, policy: EgressPolicy): void {
  const refused = refusedClass(hostname, policy);
  if (refused) throw new EgressRefusedError(hostname, refused);
}

/**
 * A `lookup` for net/tls/http connections: resolves as dns.lookup does and
 * fails with EgressRefusedError when any address of the name is refused (a
 * name that mixes allowed and refused addresses is refused as a whole).
 */
export function guardedLookup(policy: EgressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    const all = typeof options === 'object' && options !== null && options.all === true;
    dns.lookup(hostname, { ...(options as dns.LookupOptions), all: true }, (err, addresses) => {
      if (err) {
        (callback as (e: Error) => void)(err);
        return;
      }
      for (const { address } of addresses) {
        const refused = refusedClass(address, policy);
        if (refused) {
          (callback as (e: Error) => void)(new EgressRefusedError(hostname, refused));
          return;
        }
      }
      if (all) (callback as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
      else {
        const first = addresses[0]!;
        (callback as (e: null, a: string, f: number) => void)(null, first.address, first.family);
      }
    });
  };
}

/**
 * Resolves `hostname` (all its addresses) and fails with EgressRefusedError
 * when any is refused, as guardedLookup does inside a socket: for a request
 * that goes through a proxy, whose socket resolves only the proxy's name.
 */
export function assertNameAllowed(hostname: string, policy: EgressPolicy): Promise<void> {
  const bare = hostname.replace(/^\[|\]$/g, '');
  if (isIP(bare.replace(/%.*$/, ''))) {
    try {
      assertHostAllowed(bare, policy);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }
  return new Promise((resolve, reject) =>
    guardedLookup(policy)(bare, { all: true }, (err) => (err ? reject(err) : resolve())),
  );
}

/**
 * Connection pools for requests under a policy that bring no agent of their
 * own, one per policy and protocol: a keep-alive socket made for one policy is
 * never reused by a request under a stricter one, nor by anyone unguarded.
 */
const pools = new Map<string, http.Agent>();
export function defaultEgressAgent(protocol: string, policy: EgressPolicy): http.Agent {
  const key = `${protocol}${policy.allowPrivate}`;
  let agent = pools.get(key);
  if (!agent) {
    const options = { keepAlive: true, ...proxyAgentOptions() };
    agent = protocol === 'http:' ? new http.Agent(options) : new https.Agent(options);
    pools.set(key, agent);
  }
  return agent;
}
