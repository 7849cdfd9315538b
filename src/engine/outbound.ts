/**
 * The one rule for requests barge makes on a user's behalf (webhooks, status reports): they may
 * reach the public internet only. A job's author chooses the URL, so without this rule any user
 * could make the server call its own loopback services, the private network behind it or a cloud
 * metadata endpoint (server-side request forgery).
 *
 * - The host name is resolved once, every address it resolves to is checked, and the connection
 *   is made to the checked address (pinned through the request's `lookup`), so a DNS answer that
 *   changes between check and connect (rebinding) cannot slip a private address in. TLS still
 *   verifies the certificate against the host name.
 * - Refused: loopback, private (RFC 1918), link-local (with 169.254.169.254, the metadata
 *   address of most clouds), CGNAT (100.64/10, with Alibaba's metadata address), unique-local
 *   IPv6 (with AWS's fd00:ec2::254), multicast, unspecified, broadcast and reserved ranges; IPv4
 *   inside IPv6 (mapped, NAT64, 6to4) is judged by its IPv4 address.
 * - Redirects are never followed: a 3xx is a failed delivery saying where it pointed.
 * - An admin may allow private targets (`--allow-private-webhooks`), e.g. for an intranet hook or
 *   tests on loopback; redirects stay unfollowed even then.
 */
import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

export interface OutboundPolicy {
  /** Let requests reach loopback, private, link-local and other non-public addresses. (Default: false) */
  allowPrivate: boolean;
}

export interface OutboundRequest {
  /** (Default: POST) */
  method?: 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

export type OutboundResult =
  | { kind: 'answered'; status: number }
  /** The policy forbade it: retrying cannot help. */
  | { kind: 'refused'; reason: string }
  /** The network failed (DNS, connect, timeout): a retry may help. */
  | { kind: 'failed'; reason: string };

const RANGES: Array<[reason: string, ipv4: string[], ipv6: string[]]> = [
  ['loopback', ['127.0.0.0/8'], ['::1/128']],
  ['unspecified', ['0.0.0.0/8'], ['::/128']],
  ['private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'], []],
  ['link-local (cloud metadata)', ['169.254.0.0/16'], ['fe80::/10']],
  ['carrier-grade NAT', ['100.64.0.0/10'], []],
  ['unique-local', [], ['fc00::/7']],
  ['multicast', ['224.0.0.0/4'], ['ff00::/8']],
  ['reserved', ['240.0.0.0/4', '192.0.0.0/24', '198.18.0.0/15'], ['100::/64', '2001:db8::/32']],
];

const BLOCKS = RANGES.map(([reason, ipv4, ipv6]) => {
  const list = new BlockList();
  for (const range of ipv4) addRange(list, range, 'ipv4');
  for (const range of ipv6) addRange(list, range, 'ipv6');
  return { reason, list };
});

function addRange(list: BlockList, range: string, family: 'ipv4' | 'ipv6'): void {
  const [network, prefix] = range.split('/');
  list.addSubnet(network, Number(prefix), family);
}

/** Why an address may not be a target (e.g. "loopback"), or null for a public address. */
export function forbiddenReason(address: string): string | null {
  const embedded = embeddedIpv4(address);
  if (embedded) return forbiddenReason(embedded);
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  // BlockList judges IPv4-mapped IPv6 (::ffff:a.b.c.d) by its IPv4 rules itself.
  return BLOCKS.find(({ list }) => list.check(address, family))?.reason ?? null;
}

/** The IPv4 address inside a NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address. */
function embeddedIpv4(address: string): string | undefined {
  if (isIP(address) !== 6) return undefined;
  const words = expandIpv6(address);
  if (!words) return undefined;
  const nat64 = words[0] === 0x64 && words[1] === 0xff9b && words.slice(2, 6).every((w) => w === 0);
  if (nat64) return ipv4Of(words[6], words[7]);
  if (words[0] === 0x2002) return ipv4Of(words[1], words[2]);
  return undefined;
}

function ipv4Of(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** The eight 16-bit words of an IPv6 address (a dotted IPv4 tail included). */
function expandIpv6(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const headWords = head ? head.split(':') : [];
  const tailWords = tail === undefined ? [] : tail ? tail.split(':') : [];
  const missing = 8 - headWords.length - tailWords.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  return [...headWords, ...Array<string>(missing).fill('0'), ...tailWords].map((word) => parseInt(word, 16));
}

/**
 * Sends the body once (POST, or the request's method). Answers how it went; never throws. The response body is read and dropped
 * (only the status matters), and a 3xx is reported as a failure that names its Location.
 */
export async function outboundPost(request: OutboundRequest, policy: OutboundPolicy): Promise<OutboundResult> {
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return { kind: 'refused', reason: `not a URL: ${JSON.stringify(request.url.slice(0, 200))}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { kind: 'refused', reason: `only http and https targets are allowed, not ${url.protocol}` };
  }
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  let addresses: Array<{ address: string; family: number }>;
  try {
    addresses = isIP(hostname) ? [{ address: hostname, family: isIP(hostname) }] : await lookup(hostname, { all: true, verbatim: true });
  } catch (error) {
    return { kind: 'failed', reason: `cannot resolve ${hostname}: ${(error as Error).message}` };
  }
  if (addresses.length === 0) return { kind: 'failed', reason: `cannot resolve ${hostname}` };
  if (!policy.allowPrivate) {
    for (const { address } of addresses) {
      const why = forbiddenReason(address);
      if (why) {
        return {
          kind: 'refused',
          reason: `${hostname} resolves to ${address}, a ${why} address; an admin may allow such targets with --allow-private-webhooks`,
        };
      }
    }
  }
  return post(url, addresses[0], request);
}

function post(url: URL, pinned: { address: string; family: number }, request: OutboundRequest): Promise<OutboundResult> {
  // The connection goes to the address checked above, whatever a second DNS answer would say.
  const pin: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = send(
      url,
      {
        method: request.method ?? 'POST',
        headers: { ...request.headers, 'content-length': Buffer.byteLength(request.body) },
        lookup: pin,
        signal: AbortSignal.timeout(request.timeoutMs),
      },
      (response: IncomingMessage) => {
        response.resume();
        response.on('error', () => undefined);
        const status = response.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          const location = String(response.headers.location ?? '').slice(0, 200);
          resolve({ kind: 'refused', reason: `HTTP ${status}: redirects are not followed${location ? ` (to ${location})` : ''}` });
        } else {
          resolve({ kind: 'answered', status });
        }
      },
    );
    req.on('error', (error) => resolve({ kind: 'failed', reason: error.name === 'AbortError' ? `no answer within ${request.timeoutMs} ms` : error.message }));
    req.end(request.body);
  });
}
