/**
 * The runner's gate (sliderule-runner.md §3, §5, §12 #1-7): JWT, then the Ed25519 signature over
 * the raw body, then membership, each refusal in the reference's shape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonical, signatureOf, startSlideRule, type SlideRuleUnderTest } from './helpers.js';

let sr: SlideRuleUnderTest;
beforeAll(async () => {
  sr = await startSlideRule({ worker: false });
});
afterAll(async () => {
  await sr.close();
});

const INVALID_SIGNATURE = { error: 'access denied', error_description: 'invalid signature' };
const NOT_A_MEMBER = { error: 'access denied', error_description: 'not a member' };
const QUEUE = { job_state: ['SUBMITTED'] };

describe('the gate', () => {
  it('§12 #1: a signed member request is answered, with Python json.dumps separators and no Content-Type needed', async () => {
    const answer = await sr.call('/report/queue', QUEUE);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.text).toBe('{"report": {"SUBMITTED": 0}, "jobs": []}');
  });

  it('§12 #2: org_roles [] is not a member; the flattened "[member owner]" string is', async () => {
    const none = await sr.call('/report/queue', QUEUE, { token: await sr.jwt({ sub: 'alice', org_roles: [] }) });
    expect([none.status, none.json]).toEqual([403, NOT_A_MEMBER]);
    const affiliate = await sr.call('/report/queue', QUEUE, { token: await sr.jwt({ sub: 'alice', org_roles: ['affiliate'] }) });
    expect([affiliate.status, affiliate.json]).toEqual([403, NOT_A_MEMBER]);
    const flattened = await sr.call('/report/queue', QUEUE, { token: await sr.jwt({ sub: 'alice', org_roles: '[member owner]' }) });
    expect(flattened.status).toBe(200);
  });

  it('a token barge issued without org_roles is a member; an outside issuer must send the claim', async () => {
    expect((await sr.call('/report/queue', QUEUE, { token: await sr.jwt({ sub: 'alice' }) })).status).toBe(200);
    const outsideWithout = await sr.call('/report/queue', QUEUE, { token: await sr.outsideJwt({ sub: 'alice' }) });
    expect([outsideWithout.status, outsideWithout.json]).toEqual([403, NOT_A_MEMBER]);
    const outsideMember = await sr.call('/report/queue', QUEUE, { token: await sr.outsideJwt({ sub: 'alice', org_roles: ['member', 'owner'] }) });
    expect(outsideMember.status).toBe(200);
  });

  it('§12 #3: an unknown path answers 404 {"error": "not found"} once signed by a member, and only then', async () => {
    const unknown = await sr.call('/does-not-exist', undefined, { raw: '' });
    expect([unknown.status, unknown.text]).toEqual([404, '{"error": "not found"}']);
    const nonMember = await sr.call('/does-not-exist', undefined, { raw: '', token: await sr.jwt({ sub: 'alice', org_roles: [] }) });
    expect([nonMember.status, nonMember.json]).toEqual([403, NOT_A_MEMBER]);
    const unsigned = await sr.call('/does-not-exist', undefined, { raw: '', signer: null, token: await sr.jwt({ sub: 'alice', org_roles: ['member'] }) });
    // Without SlideRule's headers the path is simply not barge's: the app's own 404.
    expect(unsigned.status).toBe(404);
    expect(unsigned.json).toMatchObject({ error: 'BARGE_E_NOT_FOUND' });
  });

  it('§12 #4: unsigned, or signed over another body, path or host, or with a timestamp 61 s old or ahead → invalid signature', async () => {
    const now = Math.floor(Date.now() / 1000);
    const refusals = [
      await sr.call('/report/queue', QUEUE, { signer: null }),
      await sr.call('/report/queue', QUEUE, { signedBody: JSON.stringify({ job_state: ['RUNNING'] }) }),
      await sr.call('/report/queue', QUEUE, { signedPath: '/report/jobs' }),
      await sr.call('/report/queue', QUEUE, { signedHost: 'runner.slideruleearth.io' }),
      await sr.call('/report/queue', QUEUE, { timestamp: now - 61 }),
      await sr.call('/report/queue', QUEUE, { timestamp: now + 61 }),
    ];
    for (const answer of refusals) expect([answer.status, answer.json]).toEqual([403, INVALID_SIGNATURE]);
    // 55 s either way is still inside the window.
    expect((await sr.call('/report/queue', QUEUE, { timestamp: Math.floor(Date.now() / 1000) - 55 })).status).toBe(200);
    expect((await sr.call('/report/queue', QUEUE, { timestamp: Math.floor(Date.now() / 1000) + 55 })).status).toBe(200);
  });

  it('the Host header is signed as received: a request signed for the host it is sent to passes', async () => {
    const answer = await sr.call('/report/queue', QUEUE, { host: 'runner.slideruleearth.io' });
    expect(answer.status).toBe(200);
  });

  it('a signature by another user\'s registered key, a garbled signature, or a non-integer timestamp is refused', async () => {
    const otherKey = await sr.call('/report/queue', QUEUE, { signer: sr.bob, token: await sr.jwt({ sub: 'alice', org_roles: ['member'] }) });
    expect([otherKey.status, otherKey.json]).toEqual([403, INVALID_SIGNATURE]);
    const token = await sr.jwt({ sub: 'alice', org_roles: ['member'] });
    const body = JSON.stringify(QUEUE);
    const send = (headers: Record<string, string>) =>
      fetch(`${sr.url}/report/queue`, { method: 'POST', headers: { authorization: `Bearer ${token}`, ...headers }, body: new Blob([body]) });
    const ts = String(Math.floor(Date.now() / 1000));
    const garbled = await send({ 'x-sliderule-timestamp': ts, 'x-sliderule-signature': 'not base64!' });
    expect(garbled.status).toBe(403);
    const fractional = `${ts}.5`;
    const good = signatureOf(sr.alice.privateKey, canonical(sr.host, '/report/queue', fractional, body));
    const notInteger = await send({ 'x-sliderule-timestamp': fractional, 'x-sliderule-signature': good });
    expect([notInteger.status, await notInteger.json()]).toEqual([403, INVALID_SIGNATURE]);
  });

  it('a replayed request (same signature, inside its window) is refused', async () => {
    const token = await sr.jwt({ sub: 'alice', org_roles: ['member'] });
    const body = JSON.stringify({ job_state: ['STARTING', 'RUNNABLE'] }); // no other test sends it
    const ts = String(Math.floor(Date.now() / 1000));
    const headers = {
      authorization: `Bearer ${token}`,
      'x-sliderule-timestamp': ts,
      'x-sliderule-signature': signatureOf(sr.alice.privateKey, canonical(sr.host, '/report/queue', ts, body)),
    };
    const first = await fetch(`${sr.url}/report/queue`, { method: 'POST', headers, body: new Blob([body]) });
    expect(first.status).toBe(200);
    const again = await fetch(`${sr.url}/report/queue`, { method: 'POST', headers, body: new Blob([body]) });
    expect([again.status, await again.json()]).toEqual([403, INVALID_SIGNATURE]);
  });

  it('§12 #5: the canonical string of the reference example', () => {
    // Computed with Python's base64.urlsafe_b64encode, as the client does.
    expect(canonical('slideruleearth.io', '/report/queue', '1700000000', '{"job_state": ["RUNNING"]}')).toBe(
      'c2xpZGVydWxlZWFydGguaW8vcmVwb3J0L3F1ZXVl:1700000000:eyJqb2Jfc3RhdGUiOiBbIlJVTk5JTkciXX0=',
    );
    expect(canonical('runner.slideruleearth.io', '/submit', '1', '')).toBe('cnVubmVyLnNsaWRlcnVsZWVhcnRoLmlvL3N1Ym1pdA==:1:');
  });

  it('§12 #6: no JWT, a wrong audience, an unknown user or a barge API token → 401 {"message": "Unauthorized"}', async () => {
    const cases = [
      await sr.call('/report/queue', QUEUE, { token: null }),
      await sr.call('/report/queue', QUEUE, { token: await sr.jwt({ sub: 'alice', org_roles: ['member'] }, 'v1') }),
      await sr.call('/report/queue', QUEUE, { token: await sr.jwt({ sub: 'mallory', org_roles: ['member'] }) }),
      await sr.call('/report/queue', QUEUE, { token: sr.adminToken }),
    ];
    for (const answer of cases) expect([answer.status, answer.text]).toEqual([401, '{"message": "Unauthorized"}']);
  });

  it('§12 #7: the signature is checked before membership', async () => {
    const answer = await sr.call('/report/queue', QUEUE, { signer: null, token: await sr.jwt({ sub: 'alice', org_roles: [] }) });
    expect([answer.status, answer.json]).toEqual([403, INVALID_SIGNATURE]);
  });

  it('§11 #4: invalid JSON is refused after the signature check, with 400', async () => {
    const unsigned = await sr.call('/report/queue', undefined, { raw: '{not json', signer: null });
    expect(unsigned.status).toBe(403);
    const signed = await sr.call('/report/queue', undefined, { raw: '{not json' });
    expect([signed.status, signed.json]).toEqual([400, { error: 'bad request', error_description: 'the body is not valid JSON' }]);
  });

  it('every route is behind the same three checks, in the same order', async () => {
    const bodies: Record<string, unknown> = {
      '/submit': { name: 'x', script: Buffer.from('return 1').toString('base64'), args_list: ['a'] },
      '/report/jobs': { job_list: [] },
      '/report/queue': { job_state: 'RUNNING' },
      '/cancel': { job_list: [] },
    };
    for (const [path, body] of Object.entries(bodies)) {
      const noJwt = await sr.call(path, body, { token: null });
      expect([path, noJwt.status]).toEqual([path, 401]);
      const wrongAudience = await sr.call(path, body, { token: await sr.jwt({ sub: 'alice', org_roles: ['member'] }, 'tork') });
      expect([path, wrongAudience.status]).toEqual([path, 401]);
      const unsigned = await sr.call(path, body, { signer: null, token: await sr.jwt({ sub: 'alice', org_roles: [] }) });
      expect([path, unsigned.status, unsigned.json]).toEqual([path, 403, INVALID_SIGNATURE]);
      const tampered = await sr.call(path, body, { signedBody: '{}' });
      expect([path, tampered.status, tampered.json]).toEqual([path, 403, INVALID_SIGNATURE]);
      const nonMember = await sr.call(path, body, { token: await sr.jwt({ sub: 'alice', org_roles: ['affiliate'] }) });
      expect([path, nonMember.status, nonMember.json]).toEqual([path, 403, NOT_A_MEMBER]);
    }
  });

  it('a viewer may report but not submit or cancel; a disabled user or an expired key is refused', async () => {
    const bob = await sr.db.store.userGetByName('bob');
    if (!bob) throw new Error('no bob');
    await sr.db.store.userUpdate({ id: bob.id, patch: { role: 'viewer' } });
    try {
      expect((await sr.call('/report/queue', QUEUE, { signer: sr.bob })).status).toBe(200);
      const submit = await sr.call('/submit', { name: 'x', script: Buffer.from('return 1').toString('base64'), args_list: ['a'] }, { signer: sr.bob });
      expect([submit.status, submit.json]).toEqual([403, { error: 'access denied', error_description: 'the viewer role is read-only: submit is refused' }]);
      expect((await sr.call('/cancel', undefined, { raw: 'null', signer: sr.bob })).status).toBe(403);
    } finally {
      await sr.db.store.userUpdate({ id: bob.id, patch: { role: 'user' } });
    }
    const [key] = await sr.db.store.pubkeyList({ userId: bob.id });
    await sr.db.store.pubkeyDelete({ id: key.id, userId: bob.id });
    await sr.db.store.pubkeyInsert({ ...key, expiresAt: new Date(Date.now() - 1000).toISOString() });
    const expired = await sr.call('/report/queue', QUEUE, { signer: sr.bob });
    expect([expired.status, expired.json]).toEqual([403, INVALID_SIGNATURE]);
    await sr.db.store.userUpdate({ id: bob.id, patch: { disabled: true } });
    expect((await sr.call('/report/queue', QUEUE, { signer: sr.bob })).status).toBe(401);
  });
});
