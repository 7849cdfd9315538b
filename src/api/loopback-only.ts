/**
 * DNS-rebinding and cross-site defence for the open modes (`--open`, `--tork-open`), where a
 * request needs no token. Listening on 127.0.0.1 is not enough: a web page on evil.example can
 * make its name resolve to 127.0.0.1 and have the browser send requests that carry
 * `Host: evil.example`, or post from its own origin to http://127.0.0.1:8000 directly. So in
 * those modes every request must name a loopback host in `Host`, and in `Origin` when a browser
 * sends one (`Origin: null`, from sandboxed frames and files, is refused too).
 *
 * The answer is sent from the hook in barge's error shape, whose `message` Tork clients read as
 * well: thrown, Tork's error handler would shorten it to a bare "Forbidden".
 */
import type { FastifyInstance } from 'fastify';
import type { ErrorBody } from './errors.js';

export function registerLoopbackOnly(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    const problem = refusal(request.headers.host, request.headers.origin);
    if (!problem) return;
    await reply.code(403).send({ error: 'BARGE_E_FORBIDDEN', message: problem } satisfies ErrorBody);
  });
}

/** Why a request is refused, or null when its Host (and Origin) are loopback names. */
export function refusal(host: string | undefined, origin: string | undefined): string | null {
  const hostName = host === undefined ? undefined : hostOfAuthority(host);
  if (hostName === undefined || !isLoopbackName(hostName)) {
    return `Host ${JSON.stringify(host ?? '')} is not a loopback name: authentication is off, so only localhost, 127.0.0.1 or [::1] are accepted (DNS-rebinding defence)`;
  }
  if (origin !== undefined && !isLoopbackOrigin(origin)) {
    return `Origin ${JSON.stringify(origin)} is not a loopback origin: authentication is off, so pages from other sites may not call this server`;
  }
  return null;
}

/** `name`, `name:port`, `[v6]` or `[v6]:port` → the host name; undefined when malformed. */
function hostOfAuthority(authority: string): string | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::\d{1,5})?$/i.exec(authority.trim());
  return match ? match[1].toLowerCase() : undefined;
}

function isLoopbackOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackName(url.hostname.toLowerCase());
  } catch {
    return false;
  }
}

/**
 * Names that can only mean this machine: localhost, 127.0.0.0/8 and ::1 (bracketed or not).
 * `0.0.0.0` is not one: it is a listening address for every interface. Also the rule for which
 * addresses the open modes may listen on (cli/serve.ts).
 */
export function isLoopbackName(name: string): boolean {
  const bare = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
  if (bare === 'localhost') return true;
  if (bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}
