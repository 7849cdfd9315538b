/** `npm run bench`: every benchmark, each comparing barge with another tool in the same run. */
import { fanout } from './fanout.js';

const result = await fanout();
console.log(
  `fanout: ${result.items} × true at concurrency ${result.concurrency} (isolation ${result.isolation}): ` +
    `barge ${Math.round(result.bargeMs)} ms, xargs -P ${result.concurrency} ${Math.round(result.xargsMs)} ms, ` +
    `ratio ${result.ratio.toFixed(2)}`,
);
