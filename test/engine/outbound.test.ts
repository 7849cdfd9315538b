/**
 * Outbound requests (issue 7, "Open modes and outbound requests"): webhooks and status reports
 * reach public addresses only, judged after DNS resolution, unless an admin allows private
 * targets; redirects are never followed; a refused delivery is dead at once with its reason.
 * Real HTTP receivers on 127.0.0.1, a real SQLite store and the real dispatcher.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxDispatcher } from '../../src/engine/outbox.js';
import { forbiddenReason, outboundPost } from '../../src/engine/outbound.js';
import { makeTestStore, type TestStore } from '../helpers/stores.js';
import { makeOutbox } from '../store/fixtures.js';

describe('forbiddenReason', () => {
  it('names the range of every non-public address', () => {
    const cases: Record<string, string> = {
      '127.0.0.1': 'loopback',
      '127.9.9.9': 'loopback',
      '::1': 'loopback',
      '0.0.0.0': 'unspecified',
      '::': 'unspecified',
      '10.1.2.3': 'private',
      '172.16.0.1': 'private',
      '172.31.255.255': 'private',
      '192.168.1.1': 'private',
      '169.254.169.254': 'link-local (cloud metadata)',
      'fe80::1': 'link-local (cloud metadata)',
      '100.64.0.1': 'carrier-grade NAT',
      '100.100.100.200': 'carrier-grade NAT',
      'fd00:ec2::254': 'unique-local',
      'fc00::1': 'unique-local',
      '224.0.0.1': 'multicast',
      'ff02::1': 'multicast',
      '255.255.255.255': 'reserved',
      '::ffff:127.0.0.1': 'loopback',
      '::ffff:10.0.0.1': 'private',
      '::ffff:a9fe:a9fe': 'link-local (cloud metadata)',
      '64:ff9b::7f00:1': 'loopback',
      '64:ff9b::169.254.169.254': 'link-local (cloud metadata)',
      '2002:a00:1::': 'private',
    };
    for (const [address, reason] of Object.entries(cases)) expect(forbiddenReason(address), address).toBe(reason);
  });

  it('lets public addresses through', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '192.169.0.1', '2606:4700:4700::1111', '2002:808:808::', '::ffff:8.8.8.8']) {
      expect(forbiddenReason(address), address).toBeNull();
    }
  });
});

describe('the outbox dispatcher’s targets', () => {
  let db: TestStore;
  let receiver: Server;
  let port: number;
  const received: Array<{ path: string; body: string }> = [];

  beforeAll(async () => {
    db = await makeTestStore('sqlite');
    receiver = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ path: request.url ?? '', body });
        if (request.url === '/moved') {
          response.writeHead(302, { location: `http://127.0.0.1:${port}/elsewhere` }).end();
        } else {
          response.writeHead(204).end();
        }
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    port = (receiver.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => receiver?.close(resolve));
    await db?.close();
  });

  /** Writes one row, dispatches once, and reads the row back from the SQLite file. */
  async function deliver(url: string, allowPrivateTargets: boolean, kind: 'webhook' | 'report' = 'webhook') {
    received.length = 0;
    await db.store.outboxInsertMany([makeOutbox({ url, kind, nextAt: new Date(0).toISOString() })]);
    const dispatcher = new OutboxDispatcher({ store: db.store, clock: { now: () => new Date() }, allowPrivateTargets });
    expect(await dispatcher.dispatch()).toBe(1);
    const file = new Database(join(db.dir, 'barge.db'), { readonly: true });
    try {
      return file.prepare('SELECT status, attempts, last_error AS lastError FROM outbox ORDER BY id DESC LIMIT 1').get() as {
        status: string;
        attempts: number;
        lastError: string | null;
      };
    } finally {
      file.close();
    }
  }

  it('refuses a loopback target by default, for good, with the reason', async () => {
    const row = await deliver(`http://127.0.0.1:${port}/hook`, false);
    expect(row).toMatchObject({ status: 'dead', attempts: 1 });
    expect(row.lastError).toMatch(/^refused: 127\.0\.0\.1 resolves to 127\.0\.0\.1, a loopback address/);
    expect(row.lastError).toContain('--allow-private-webhooks');
    expect(received).toEqual([]);
  });

  it('judges a host name by what it resolves to (localhost)', async () => {
    const row = await deliver(`http://localhost:${port}/hook`, false);
    expect(row.status).toBe('dead');
    expect(row.lastError).toMatch(/^refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
    expect(received).toEqual([]);
  });

  it('refuses status reports the same way, and non-http schemes', async () => {
    expect((await deliver(`http://[::1]:${port}/report`, false, 'report')).lastError).toMatch(/a loopback address/);
    expect((await deliver('file:///etc/passwd', true)).lastError).toMatch(/only http and https/);
    expect(received).toEqual([]);
  });

  it('delivers to a loopback target when an admin allows private targets', async () => {
    const row = await deliver(`http://127.0.0.1:${port}/hook`, true);
    expect(row).toMatchObject({ status: 'done', lastError: null });
    expect(received).toEqual([{ path: '/hook', body: JSON.stringify({ event: 'job.StateChange', ok: true }) }]);
  });

  it('never follows a redirect, even to an allowed target, and does not retry it', async () => {
    const row = await deliver(`http://127.0.0.1:${port}/moved`, true);
    expect(row).toMatchObject({ status: 'dead', attempts: 1 });
    expect(row.lastError).toBe(`refused: HTTP 302: redirects are not followed (to http://127.0.0.1:${port}/elsewhere)`);
    expect(received.map((r) => r.path)).toEqual(['/moved']);
  });

  it('answers without throwing for a host that does not resolve (a retryable failure)', async () => {
    const result = await outboundPost({ url: 'http://no-such-host.invalid/hook', headers: {}, body: '{}', timeoutMs: 5_000 }, { allowPrivate: false });
    expect(result.kind).toBe('failed');
  });
});
