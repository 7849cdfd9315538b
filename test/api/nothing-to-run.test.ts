/**
 * /v1 refuses a task with nothing to run (a typo such as `script:` for `run:` would otherwise
 * succeed doing nothing); the spec rules the Tork face uses keep Tork's leniency.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateJobSpec } from '../../src/core/spec.js';
import { startApi, type ApiUnderTest } from './helpers.js';

let api: ApiUnderTest;

beforeAll(async () => {
  api = await startApi();
});

afterAll(async () => {
  await api.close();
});

describe('a task with nothing to run', () => {
  it('is a 400 on /v1 naming the task, at any depth', async () => {
    const top = await api.json('/v1/jobs', { method: 'POST', body: { name: 'j', tasks: [{ name: 'ok', run: 'true' }, { name: 'typo', env: { A: '1' } }] } });
    expect(top.status).toBe(400);
    expect(top.body.details).toEqual([{ path: 'tasks[1]', message: expect.stringContaining('task "typo" has nothing to run') }]);
    const nested = await api.json('/v1/jobs', {
      method: 'POST',
      body: { name: 'j', tasks: [{ name: 'fan', each: { list: '{{ sequence(0, 2) }}', task: { name: 'item' } } }] },
    });
    expect(nested.status).toBe(400);
    expect(nested.body.details?.[0]?.path).toBe('tasks[0].each.task');
    const fine = [{ name: 'lua', lua: 'return 1' }, { name: 'box', image: 'busybox' }, { name: 'par', parallel: { tasks: [{ name: 'p', run: 'true' }] } }];
    const accepted = await api.json('/v1/jobs', { method: 'POST', body: { name: 'j', tasks: fine } });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201);
  });

  it("is valid under Tork's rules (the default), as the Tork face submits it", () => {
    expect(() => validateJobSpec({ name: 'j', tasks: [{ name: 'noop' }] })).not.toThrow();
    expect(() => validateJobSpec({ name: 'j', tasks: [{ name: 'noop' }] }, { requireSomethingToRun: true })).toThrow(/task "noop" has nothing to run/);
  });
});
