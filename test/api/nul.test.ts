/**
 * A NUL character: in a spec it is refused with a 400 naming the field, on both stores (PostgreSQL
 * cannot store it, and SQLite must answer the same); in what a program prints (its error, its
 * log) it is stored as U+FFFD, so the execution's end is never lost to it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgAvailable } from '../helpers/pg.js';
import { storeKinds } from '../helpers/stores.js';
import { hello, startApi, type ApiUnderTest, type JobBody } from './helpers.js';

for (const kind of storeKinds) {
  describe.skipIf(kind === 'postgres' && !pgAvailable())(`NUL characters on ${kind}`, () => {
    let api: ApiUnderTest;

    beforeAll(async () => {
      api = await startApi({ store: kind });
    });

    afterAll(async () => {
      await api?.close();
    });

    it('refuses a NUL anywhere in a JSON spec with a 400 naming each field', async () => {
      const answer = await api.json('/v1/jobs', {
        method: 'POST',
        body: {
          name: 'nul\u0000name',
          tasks: [{ name: 't', run: 'echo \u0000', env: { 'KEY\u0000': 'v', OK: 'a\u0000b' } }],
        },
      });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('BARGE_E_VALIDATION');
      const paths = answer.body.details?.map((d) => d.path) ?? [];
      expect(paths).toEqual(expect.arrayContaining(['name', 'tasks[0].run', 'tasks[0].env.OK', 'tasks[0].env["KEY\\u0000"]']));
      expect(answer.body.message).toContain('NUL');
      expect((await api.json<{ items: unknown[] }>('/v1/jobs')).body.items).toEqual([]);
    });

    it('refuses a NUL written as an escape in a YAML spec', async () => {
      const yaml = 'name: "nul\\0yaml"\ntasks:\n  - name: t\n    run: "true"\n';
      const answer = await api.json('/v1/jobs', { method: 'POST', body: yaml, headers: { 'content-type': 'application/yaml' } });
      expect(answer.status).toBe(400);
      expect(answer.body.details?.map((d) => d.path)).toEqual(['name']);
    });

    it('keeps the end of a task that prints a NUL in its error, with the NUL replaced', async () => {
      const done = await api.runJob({ ...hello('nul output'), tasks: [{ name: 'noisy', run: "printf 'bad\\000byte\\n' >&2; exit 4" }] });
      expect(done.state).toBe('FAILED');
      const job = (await api.json<JobBody>(`/v1/jobs/${done.id}`)).body;
      expect(job.error).toContain('bad\uFFFDbyte');
      const executions = await api.bundle.engine.executionCounts(done.id);
      expect(executions).toEqual({ FAILED: 1 });
    });
  });
}
