/** `npm run bench`: every benchmark, each comparing barge with another tool (or itself) in the same run. */
import { claimQuotas } from './claim-quotas.js';
import { fanout } from './fanout.js';
import { luaBench } from './lua.js';
import { uiArrayBench } from './ui-array.js';
import { workerLoad } from './worker-load.js';

const result = await fanout();
console.log(
  `fanout: ${result.items} × true at concurrency ${result.concurrency} (isolation ${result.isolation}): ` +
    `barge ${Math.round(result.bargeMs)} ms, xargs -P ${result.concurrency} ${Math.round(result.xargsMs)} ms, ` +
    `ratio ${result.ratio.toFixed(2)}`,
);

const quotas = await claimQuotas();
console.log(
  `claim-quotas: ${quotas.items} items claimed ${quotas.batch} at a time: no quotas ${Math.round(quotas.freeMs)} ms, ` +
    `running and compute quotas ${Math.round(quotas.limitedMs)} ms, ratio ${quotas.ratio.toFixed(2)}`,
);

for (const inProcess of [false, true]) {
  const load = await workerLoad({ inProcess });
  console.log(
    `worker under API load (${load.mode}): ${load.items} × true, ${load.clients} clients reading /v1/jobs: ` +
      `${load.unloadedPerSecond.toFixed(1)} items/s idle, ${load.loadedPerSecond.toFixed(1)} items/s loaded, ` +
      `ratio ${load.ratio.toFixed(2)} (goal ≥ 0.80)`,
  );
}

const lua = await luaBench();
console.log(
  `lua: ${lua.tasks} × \`return 1\` on ${lua.slots} slots: pooled threads ${Math.round(lua.pooled)}/s ` +
    `(a thread per task, as before the pool: ${lua.threadPerTask.toFixed(1)}/s), through the engine on SQLite ${Math.round(lua.engine)}/s; ` +
    `a fresh wasmoon engine per task on one thread ${Math.round(lua.baseline)}/s; ` +
    `ratio pooled/baseline ${(lua.pooled / lua.baseline).toFixed(2)}, engine/baseline ${(lua.engine / lua.baseline).toFixed(2)}`,
);

const grid = await uiArrayBench();
console.log(
  `ui array grid (Chromium, page's own timing): ` +
    grid.timings.map((t) => `${t.items} items: page load ${Math.round(t.pageLoadMs)} ms, first render ${Math.round(t.firstRenderMs)} ms`).join('; ') +
    `; ratio ${grid.ratio.toFixed(2)} (largest over smallest first render)`,
);
