/**
 * The worker's collection of outputs/, end to end on both stores: a task that links its outputs
 * or its result to the data folder (the database, the artifacts of others) gets none of it; over
 * the output limits the execution fails and says which; a worker-side error in collecting fails the
 * execution with its message rather than leaving it to retry until its lease expires.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { storeKinds } from '../helpers/stores.js';
import { makeEngine, type EngineBundle } from '../helpers/engine.js';

const SECRET = 'admin-token-do-not-leak';

describe.each(storeKinds)('collecting outputs (%s)', (kind) => {
  let bundle: EngineBundle | undefined;
  afterEach(async () => {
    await bundle?.stop();
    bundle = undefined;
  });

  async function executionsOf(jobId: string) {
    const { engine } = bundle!;
    const executions = await engine.store.executionList({ jobId, limit: 100 });
    const artifacts = await engine.store.artifactList({ jobId });
    return { executions, artifacts };
  }

  it('a task linking outputs/ and .barge/ to the data folder gets no host file into artifacts or result', async () => {
    bundle = await makeEngine(kind);
    const data = bundle.db.dir;
    writeFileSync(join(data, 'credentials.json'), JSON.stringify({ token: SECRET }));
    writeFileSync(join(data, 'output'), SECRET);
    const job = await bundle.run({
      name: 'escape',
      tasks: [
        { name: 'outputs', run: `rm -rf outputs && ln -s ${data} outputs` },
        { name: 'result', run: `mv .barge .barge-old && ln -s ${data} .barge` },
      ],
    });
    expect(job.state).toBe('SUCCEEDED');
    const { executions, artifacts } = await executionsOf(job.id);
    expect(artifacts).toEqual([]);
    expect(executions.map((e) => e.result)).toEqual([null, null]);
    const logs = await bundle.engine.store.logList({ executionId: executions[0]!.id, limit: 100 });
    expect(JSON.stringify(logs)).toContain('outputs is a link or a special file: not collected');
    expect(JSON.stringify({ job, executions, logs })).not.toContain(SECRET);
  });

  it('fails an execution whose outputs pass the limits, saying which', async () => {
    bundle = await makeEngine(kind, { outputLimits: { maxFiles: 3, maxBytes: 1024 } });
    const files = await bundle.run({ name: 'files', tasks: [{ name: 'many', run: 'for i in 1 2 3 4; do echo $i > outputs/$i; done' }] });
    const bytes = await bundle.run({ name: 'bytes', tasks: [{ name: 'big', run: 'head -c 2000 /dev/zero > outputs/big' }] });
    const fits = await bundle.run({ name: 'fits', tasks: [{ name: 'ok', run: 'echo 1 > outputs/a; echo 2 > outputs/..foo' }] });
    expect(files.state).toBe('FAILED');
    expect(bytes.state).toBe('FAILED');
    expect(fits.state).toBe('SUCCEEDED');
    const [many] = (await executionsOf(files.id)).executions;
    expect(many).toMatchObject({ state: 'FAILED', reason: 'output limit', error: 'outputs exceed the limit of 3 files per execution' });
    const [big] = (await executionsOf(bytes.id)).executions;
    expect(big).toMatchObject({ state: 'FAILED', reason: 'output limit', error: 'outputs exceed the limit of 1024 bytes per execution' });
    expect((await executionsOf(files.id)).artifacts).toEqual([]);
    expect((await executionsOf(fits.id)).artifacts.map((a) => a.path).sort()).toEqual(['..foo', 'a']);
  });

  it('fails the execution with the message of an error in collecting, at once', async () => {
    // The artifact folder cannot be created: its parent is a file.
    bundle = await makeEngine(kind, { artifactsFolder: join('not-a-folder', 'artifacts') });
    writeFileSync(join(bundle.db.dir, 'not-a-folder'), '');
    const job = await bundle.run({ name: 'broken', tasks: [{ name: 'out', run: 'echo hi > outputs/a.txt', retry: { limit: 2 } }] });
    expect(job.state).toBe('FAILED');
    const { executions } = await executionsOf(job.id);
    // Retried as a failure like any other, never as a lapsed lease.
    expect(executions.map((e) => e.reason)).toEqual(['worker', 'worker', 'worker']);
    expect(executions[0]!.error).toMatch(/^could not collect outputs: ENOTDIR/);
  });
});
