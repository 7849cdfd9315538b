/**
 * Cancelling elements barge has not made yet (a big array is made a window at a time): they read
 * FAILED `Canceled by user` at once, and are stopped when barge makes them; the others run.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { base64, eventually, startSlideRule, type SlideRuleUnderTest } from './helpers.js';

let sr: SlideRuleUnderTest;
beforeAll(async () => {
  // One cpu: element 0 spins, so nothing else runs until it is cancelled.
  sr = await startSlideRule({ cpus: 1 });
});
afterAll(async () => {
  await sr.close();
});

type Report = Record<string, { status: string; statusReason: string }>;

async function report(ids: string[]): Promise<Report> {
  return (await sr.call('/report/jobs', { job_list: ids })).json as Report;
}

it('an element cancelled before it was made reads FAILED at once and is stopped when made', async () => {
  const script = 'if arg[2] == "e0" or arg[2] == "e150" then while true do end end\nreturn arg[2]\n';
  const args = Array.from({ length: 160 }, (_, i) => `e${i}`);
  const submitted = await sr.call('/submit', { name: 'late', script: base64(script), args_list: args });
  const ids = (submitted.json as { job_ids: string[] }).job_ids;
  await eventually(async () => (await report([ids[0]]))[ids[0]]?.status === 'RUNNING');
  // Element 150 does not exist as an execution yet (the first 100 are made at submit).
  const late = await sr.call('/cancel', { job_list: [ids[150]] });
  expect([late.status, late.json]).toEqual([200, [ids[150]]]);
  expect((await report([ids[150]]))[ids[150]]).toMatchObject({ status: 'FAILED', statusReason: 'Canceled by user' });
  expect((await report([ids[151]]))[ids[151]]).toMatchObject({ status: 'PENDING' });
  // Free the worker: the rest runs, 150 is made, claimed, and stopped.
  expect((await sr.call('/cancel', { job_list: [ids[0]] })).status).toBe(200);
  await eventually(async () => {
    const last = await report([ids[149], ids[151], ids[159]]);
    return Object.values(last).every((entry) => entry.status === 'SUCCEEDED');
  }, 60_000);
  const [job] = await sr.engine.store.jobList({ origin: 'sliderule', limit: 1 });
  await eventually(async () => ['FAILED', 'CANCELLED'].includes((await sr.engine.store.jobGet(job.id))?.state ?? ''), 30_000);
  const [parent] = await sr.engine.store.executionList({ jobId: job.id, parentId: null, limit: 1 });
  const items = await sr.engine.store.executionList({ parentId: parent.id, limit: 1_000 });
  const element150 = items.filter((item) => item.idx === 150);
  expect(element150.map((item) => item.state)).toEqual(['CANCELLED']);
  expect((await report([ids[150]]))[ids[150]]).toMatchObject({ status: 'FAILED', statusReason: 'Canceled by user' });
  expect(items.filter((item) => item.state === 'SUCCEEDED')).toHaveLength(158);
}, 90_000);
