/** The worker's delivery of reports it must not lose: kept while the store is unavailable, not forever otherwise. */
import { describe, expect, it } from 'vitest';
import { BargeError } from '../../src/core/errors.js';
import { deliver } from '../../src/worker/deliver.js';

const unavailable = (): Error => new BargeError('BARGE_E_UNAVAILABLE', 'the database is unavailable, try again');
const fast = { firstDelayMs: 1, maxDelayMs: 4 };

describe('deliver', () => {
  it('sends again while the store is unavailable, until it is accepted', async () => {
    let calls = 0;
    const answer = await deliver(async () => {
      calls += 1;
      if (calls < 8) throw unavailable();
      return 'accepted';
    }, fast);
    expect(answer).toBe('accepted');
    expect(calls).toBe(8);
  });

  it('recognises a connection refused deep in the cause chain as "unavailable"', async () => {
    let calls = 0;
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    await deliver(async () => {
      calls += 1;
      if (calls < 5) throw new Error('wrapped', { cause: new Error('again', { cause: refused }) });
    }, fast);
    expect(calls).toBe(5);
  });

  it('gives up on an error that says "never" after a few tries', async () => {
    let calls = 0;
    const bug = deliver(async () => {
      calls += 1;
      throw new Error('a bug');
    }, fast);
    await expect(bug).rejects.toThrow('a bug');
    expect(calls).toBe(3);
  });

  it('told to give up while waiting (the lease is lost), stops waiting, tries once more, then throws', async () => {
    const giveUp = new AbortController();
    let calls = 0;
    const lost = deliver(
      async () => {
        calls += 1;
        // The wait after this failure would last a minute (past the test's timeout): giving up cuts it short.
        if (calls === 1) setImmediate(() => giveUp.abort());
        throw unavailable();
      },
      { firstDelayMs: 60_000, giveUp: giveUp.signal },
    );
    await expect(lost).rejects.toThrow('unavailable');
    expect(calls).toBe(2);
  });
});
