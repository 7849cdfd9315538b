/** The worker thread's side of ThreadedWorker (worker-thread.ts): its own store, engine and worker. */
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { FolderArtifactStore } from '../artifacts/artifacts.js';
import { coerceError } from '../core/errors.js';
import { Engine } from '../engine/engine.js';
import { registerTorkWebhooks } from '../api/compat/tork/webhooks.js';
import { openStore } from '../store/open.js';
import { buildWorker, chooseContainerRuntime } from './worker-parts.js';
import { reportSettingsOf } from './config.js';
import { FROM_THREAD, type FromThread, type ToThread, type WorkerThreadData } from './worker-thread.js';

const port = parentPort;
if (!port) throw new Error('worker-thread-entry runs only as a worker thread');
const { config, nodeId } = workerData as WorkerThreadData;
const send = (message: FromThread): void => port.postMessage(message);

try {
  const store = await openStore(config.db);
  const engine = new Engine({
    store,
    artifacts: new FolderArtifactStore(join(config.data, 'artifacts')),
    maxArrayItems: config.maxArrayItems,
    reports: reportSettingsOf(config),
  });
  // Finishing a Tork job writes its webhook deliveries in Tork's shapes.
  registerTorkWebhooks();
  const unlisten = await store.listen('work', () => engine.bus.emit('work:available', { count: 1 }));
  let relaying = false;
  for (const name of FROM_THREAD) {
    engine.bus.on(name, (payload) => {
      if (!relaying) send({ type: 'event', name, payload });
    });
  }
  const { worker, warnings } = await buildWorker('up', config, nodeId, engine, await chooseContainerRuntime(config, nodeId));
  port.on('message', (message: ToThread) => {
    if (message.type === 'work') engine.bus.emit('work:available', { count: 1 });
    else if (message.type === 'info') worker.addInfo(message.info);
    else if (message.type === 'event') {
      relaying = true;
      try {
        engine.bus.emit(message.name, message.payload);
      } finally {
        relaying = false;
      }
    } else if (message.type === 'stop') {
      void (async () => {
        await worker.stop();
        await unlisten();
        await store.close();
        send({ type: 'stopped' });
        port.close();
      })();
    }
  });
  send({ type: 'ready', capacity: worker.capacity, queues: worker.queues, warnings });
} catch (error) {
  send({ type: 'failed', message: coerceError(error).message });
  port.close();
}
