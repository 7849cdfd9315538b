/**
 * What a worker needs from the engine. In one process it is the engine itself (engineSource); a
 * remote worker gets the same calls over HTTP. The worker never touches the database.
 */
import type { ArtifactRow, ExecutionRow, LogLine, NodeRow } from '../core/model.js';
import type { ClaimRequest, Engine, FinishReport } from '../engine/engine.js';

export interface WorkSource {
  claim(request: ClaimRequest): Promise<ExecutionRow[]>;
  start(nodeId: string, executionId: string): Promise<boolean>;
  finish(nodeId: string, executionId: string, report: FinishReport): Promise<boolean>;
  release(nodeId: string, executionId: string, reason: string): Promise<void>;
  renewLeases(nodeId: string, executionIds: string[]): Promise<string[]>;
  appendLogs(lines: LogLine[]): Promise<void>;
  reportProgress(nodeId: string, executionId: string, progress: number): Promise<void>;
  recordArtifacts(rows: ArtifactRow[]): Promise<void>;
  heartbeat(node: NodeRow): Promise<void>;
  /** Resolves when new work may be there, or after `ms`. */
  waitForWork(ms: number): Promise<void>;
  /** Calls back at once when one of these executions is taken from this node (cancel); optional speed-up over lease renewal. */
  onRevoked?(listener: (executionId: string) => void): () => void;
}

export function engineSource(engine: Engine): WorkSource {
  return {
    claim: (request) => engine.claim(request),
    start: (nodeId, id) => engine.start(nodeId, id),
    finish: (nodeId, id, report) => engine.finish(nodeId, id, report),
    release: (nodeId, id, reason) => engine.release(nodeId, id, reason),
    renewLeases: (nodeId, ids) => engine.renewLeases(nodeId, ids),
    appendLogs: (lines) => engine.appendLogs(lines),
    reportProgress: (nodeId, id, progress) => engine.reportProgress(nodeId, id, progress),
    recordArtifacts: (rows) => engine.store.artifactInsertMany(rows),
    heartbeat: (node) => engine.heartbeat(node),
    waitForWork: (ms) =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          off();
          resolve();
        };
        const timer = setTimeout(done, ms);
        const off = engine.bus.on('work:available', done);
      }),
    onRevoked: (listener) =>
      engine.bus.on('execution:state', (event) => {
        if (event.state === 'CANCELLED' || event.state === 'FAILED') listener(event.executionId);
      }),
  };
}
