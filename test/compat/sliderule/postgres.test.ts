/**
 * The SlideRule face over PostgreSQL: submit, the run folder, reports, a late cancel and
 * cancel-all go through the store interface only, so one pass on the other store is enough.
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgAvailable } from '../../helpers/pg.js';
import { base64, eventually, startSlideRule, type SlideRuleUnderTest } from './helpers.js';

type Report = Record<string, { status: string; statusReason: string; args: string }>;

describe.skipIf(!pgAvailable())('the SlideRule face on PostgreSQL', () => {
  let sr: SlideRuleUnderTest;
  beforeAll(async () => {
    sr = await startSlideRule({ store: 'postgres', cpus: 1 });
  });
  afterAll(async () => {
    await sr.close();
  });

  const report = async (ids: string[]): Promise<Report> => (await sr.call('/report/jobs', { job_list: ids })).json as Report;

  it('runs elements into the run folder, reports them, cancels before and after they are made', async () => {
    const fine = await sr.call('/submit', { name: 'pg', script: base64('return "r" .. arg[2]\n'), args_list: ['1', ' '] });
    const done = fine.json as { run_url: string; job_ids: string[] };
    const folder = fileURLToPath(done.run_url);
    await eventually(async () => (await readdir(folder)).filter((f) => f.startsWith('result_')).length === 2, 30_000);
    expect(Object.values(await report(done.job_ids)).map((r) => [r.status, r.args])).toEqual([
      ['SUCCEEDED', '1'],
      ['SUCCEEDED', 'nil'],
    ]);

    const spin = 'if arg[2] == "0" then while true do end end\nreturn arg[2]\n';
    const big = (await sr.call('/submit', { name: 'pg-big', script: base64(spin), args_list: Array.from({ length: 150 }, (_, i) => String(i)) })).json as { job_ids: string[] };
    await eventually(async () => (await report([big.job_ids[0]]))[big.job_ids[0]]?.status === 'RUNNING', 30_000);
    expect((await sr.call('/cancel', { job_list: [big.job_ids[140]] })).json).toEqual([big.job_ids[140]]);
    expect((await report([big.job_ids[140]]))[big.job_ids[140]]).toMatchObject({ status: 'FAILED', statusReason: 'Canceled by user' });
    const queue = (await sr.call('/report/queue', { job_state: ['RUNNING', 'PENDING', 'RUNNABLE'] })).json as { report: Record<string, number> };
    expect(queue.report).toEqual({ RUNNING: 1, PENDING: 49, RUNNABLE: 99 });
    const all = await sr.call('/cancel', undefined, { raw: 'null' });
    expect((all.json as string[]).length).toBe(149);
    await eventually(async () => (await report([big.job_ids[0]]))[big.job_ids[0]]?.status === 'FAILED', 30_000);
  }, 90_000);
});
