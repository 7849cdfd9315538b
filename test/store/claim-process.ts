/**
 * A claiming process for multiprocess.test.ts: opens the store at argv[2], says it is ready,
 * waits for the go file, then claims runnable executions until none are left, and writes the
 * ids it claimed to argv[3]. Exits non-zero on any error.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { openStore } from '../../src/store/open.js';

const [url, outFile, goFile] = process.argv.slice(2);
const store = await openStore(url);
const nodeId = `node-${process.pid}`;
writeFileSync(`${outFile}.ready`, '');
while (!existsSync(goFile)) await new Promise((resolve) => setTimeout(resolve, 5));

const claimed: string[] = [];
for (;;) {
  const ids = await store.tx(async (tx) => {
    const candidates = await tx.executionClaimCandidates({
      queues: ['default'],
      kinds: ['shell'],
      now: new Date().toISOString(),
      perOwner: 5,
    });
    return tx.executionSetStateMany({
      ids: candidates.map((c) => c.id),
      from: ['RUNNABLE'],
      to: 'STARTING',
      patch: { nodeId },
    });
  });
  claimed.push(...ids);
  if (ids.length === 0 && (await store.queueStats()).every((q) => q.runnable === 0)) break;
}
writeFileSync(outFile, claimed.join('\n'));
await store.close();
