/** `npm run bench`: every benchmark, each comparing barge with another tool in the same run. */
import { claimQuotas } from './claim-quotas.js';
import { fanout } from './fanout.js';

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
