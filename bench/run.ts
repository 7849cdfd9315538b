/**
 * `npm run bench`: every measure of issue 16 that is built, each against its baseline in the same
 * run, printed as one table with the versions and the machine. Figures move with the machine's
 * load; the ratios are what to compare. `BENCH_SCALE=0.25 npm run bench` runs a quarter of the
 * items everywhere (quicker, noisier).
 */
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { claimQuotas } from './claim-quotas.js';
import { fanout } from './fanout.js';
import { luaBench } from './lua.js';
import { bargeNoop, bullmqNoop, freshDatabase, graphileNoop, packageVersion, postgresVersion, redisVersion } from './queue.js';
import { uiArrayBench } from './ui-array.js';
import { workerLoad } from './worker-load.js';
import { findExecutable } from '../src/worker/runtimes/sandbox.js';
import { startPostgres } from '../test/helpers/pg.js';

interface Row {
  measure: string;
  barge: string;
  baseline: string;
  ratio: string;
  goal: string;
}

const scale = Number(process.env.BENCH_SCALE ?? 1) || 1;
const scaled = (count: number): number => Math.max(100, Math.round(count * scale));
const rows: Row[] = [];
const notes: string[] = [];

function add(row: Row): void {
  rows.push(row);
  console.error(`  ${row.measure}: ${row.barge} | ${row.baseline} | ${row.ratio}`);
}

function perSecond(value: number): string {
  return `${Math.round(value).toLocaleString('en-US')} /s`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

async function measure(name: string, run: () => Promise<void>): Promise<void> {
  console.error(`${name}…`);
  try {
    await run();
  } catch (error) {
    notes.push(`${name}: not measured (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
  }
}

const items = scaled(2_000);
for (const isolation of ['none', 'bwrap'] as const) {
  if (isolation === 'bwrap' && !findExecutable('bwrap', process.env.PATH ?? '')) {
    notes.push('fanout with bwrap: not measured (bwrap is not installed)');
    continue;
  }
  await measure(`fanout, isolation ${isolation}`, async () => {
    const result = await fanout(isolation === 'bwrap' ? scaled(500) : items, 8, isolation);
    add({
      measure: `${result.items} × \`true\`, concurrency 8, isolation ${result.isolation}`,
      barge: seconds(result.bargeMs),
      baseline: `xargs -P 8: ${seconds(result.xargsMs)}`,
      ratio: `${result.ratio.toFixed(2)}×`,
      goal: '≤ 1.5×',
    });
  });
}

await measure('lua', async () => {
  const lua = await luaBench(scaled(2_000));
  add({
    measure: `${lua.tasks} Lua tasks \`return 1\`, ${lua.slots} slots, SQLite`,
    barge: perSecond(lua.engine),
    baseline: `fresh wasmoon engine, one thread: ${perSecond(lua.baseline)}`,
    ratio: (lua.engine / lua.baseline).toFixed(2),
    goal: '≥ 3,000 /s',
  });
});

const noopItems = scaled(10_000);
const noopConcurrency = 64;
let sqliteNoop = 0;
await measure('no-op tasks on SQLite', async () => {
  sqliteNoop = await bargeNoop(noopItems, noopConcurrency);
});
let bullmq: number | null = null;
await measure('BullMQ', async () => {
  bullmq = await bullmqNoop(noopItems, noopConcurrency);
});
add({
  measure: `${noopItems} no-op tasks, concurrency ${noopConcurrency}, SQLite`,
  barge: perSecond(sqliteNoop),
  baseline: bullmq === null ? 'BullMQ: not measured (see notes)' : `BullMQ: ${perSecond(bullmq)}`,
  ratio: bullmq === null ? '—' : (sqliteNoop / bullmq).toFixed(2),
  goal: '≥ 15,000 /s, ≥ 1.0× BullMQ',
});

const cluster = await startPostgres().catch(() => undefined);
if (cluster) {
  try {
    let pgNoop = 0;
    await measure('no-op tasks on PostgreSQL', async () => {
      pgNoop = await bargeNoop(noopItems, noopConcurrency, await freshDatabase(cluster.url, 'barge_noop'));
    });
    let graphile = 0;
    let graphileBatched = 0;
    await measure('graphile-worker', async () => {
      graphile = await graphileNoop(cluster.url, noopItems, noopConcurrency, false);
      graphileBatched = await graphileNoop(cluster.url, noopItems, noopConcurrency, true);
    });
    add({
      measure: `${noopItems} no-op tasks, concurrency ${noopConcurrency}, PostgreSQL`,
      barge: perSecond(pgNoop),
      baseline: `graphile-worker: ${perSecond(graphile)} (batched: ${perSecond(graphileBatched)})`,
      ratio: graphile > 0 ? `${(pgNoop / graphile).toFixed(2)} (${(pgNoop / graphileBatched).toFixed(2)})` : '—',
      goal: '≥ 10,000 /s, then ≥ 1.0× graphile-worker',
    });
    notes.push(`PostgreSQL ${await postgresVersion(cluster.url)}, a throwaway cluster with fsync off (as the tests'), shared by barge and graphile-worker`);
  } finally {
    await cluster.stop();
  }
} else {
  notes.push('PostgreSQL rows: not measured (PostgreSQL is not installed)');
}

await measure('claim quotas', async () => {
  const quotas = await claimQuotas();
  add({
    measure: `${quotas.items} claims, ${quotas.batch} at a time, with running and compute quotas`,
    barge: seconds(quotas.limitedMs),
    baseline: `no quotas: ${seconds(quotas.freeMs)}`,
    ratio: quotas.ratio.toFixed(2),
    goal: '—',
  });
});

await measure('worker under API load', async () => {
  const load = await workerLoad();
  add({
    measure: `\`barge up\`'s worker, ${load.items} × \`true\`, under ${load.clients} API clients`,
    barge: `${load.loadedPerSecond.toFixed(1)} /s loaded`,
    baseline: `idle: ${load.unloadedPerSecond.toFixed(1)} /s`,
    ratio: load.ratio.toFixed(2),
    goal: '≥ 0.80',
  });
});

await measure('UI array grid', async () => {
  const grid = await uiArrayBench();
  const [smallest, largest] = [grid.timings[0], grid.timings[grid.timings.length - 1]];
  add({
    measure: `UI array grid, first render (Chromium), ${largest?.items} items`,
    barge: `${Math.round(largest?.firstRenderMs ?? 0)} ms`,
    baseline: `${smallest?.items} items: ${Math.round(smallest?.firstRenderMs ?? 0)} ms`,
    ratio: grid.ratio.toFixed(2),
    goal: '—',
  });
});

const xargsVersion = spawnSync('xargs', ['--version']).stdout?.toString().split('\n')[0] ?? 'xargs';
console.log(`\nbarge bench — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
console.log(
  `baselines: ${xargsVersion}; BullMQ ${packageVersion('bullmq')} on redis-server ${redisVersion()}; graphile-worker ${packageVersion('graphile-worker')}`,
);
console.log('');
const header: Row = { measure: 'measure', barge: 'barge', baseline: 'baseline (same run)', ratio: 'ratio', goal: 'goal' };
const table = [header, ...rows];
const columns = Object.keys(header) as Array<keyof Row>;
const widths = columns.map((column) => Math.max(...table.map((row) => row[column].length)));
const line = (row: Row): string => `| ${columns.map((column, i) => row[column].padEnd(widths[i] ?? 0)).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
for (const row of rows) console.log(line(row));
if (notes.length > 0) console.log(`\n${notes.map((note) => `- ${note}`).join('\n')}`);
