/**
 * The SiliconCompiler face as `barge up` and `barge server` run it: its app options from the
 * config, and its node worker (the only worker of the SC queue; nodes run where the face's work
 * folder is).
 */
import { spawn } from 'node:child_process';
import type { Engine } from '../engine/engine.js';
import { createNodeWorker, DEFAULT_NODE_COMMAND, nodeWorkerId, ScFolders } from '../api/compat/siliconcompiler/index.js';
import type { ScAppOptions } from '../api/compat/siliconcompiler/index.js';
import { createShellRuntime } from '../worker/runtimes/index.js';
import type { Worker } from '../worker/worker.js';
import { VERSION } from '../version.js';
import type { ServerConfig } from './config.js';
import { shellOptions } from './worker-parts.js';

export function scAppOptions(config: ServerConfig): ScAppOptions {
  return {
    root: config.scWorkdir,
    open: config.scOpen,
    checkIntervalSeconds: config.scCheckInterval,
    maxUploadBytes: Math.floor(config.scMaxUploadMb * 1024 * 1024),
    maxNodes: config.scMaxNodes,
    node: { command: config.scNodeCommand ?? DEFAULT_NODE_COMMAND, memoryMb: config.scNodeMemory },
    terms: config.scTerms,
  };
}

/** Starts the node worker; a previous process's node worker gives back what it held. */
export async function startScNodeWorker(
  config: ServerConfig,
  engine: Engine,
  nodeId: string,
  previousNodeId: string | undefined,
): Promise<{ worker: Worker; warnings: string[] }> {
  if (previousNodeId) await engine.releaseNode(nodeWorkerId(previousNodeId), 'node restarted');
  const folders = new ScFolders(config.scWorkdir);
  await folders.prepare();
  const worker = createNodeWorker({
    engine,
    folders,
    shell: createShellRuntime(shellOptions(config, nodeWorkerId(nodeId))),
    processNodeId: nodeId,
    version: VERSION,
    cpus: config.cpus,
    memoryMb: config.memory,
  });
  worker.start();
  const warnings = config.scNodeCommand === undefined && !(await siliconCompilerImportable()) ? [NO_SILICONCOMPILER] : [];
  return { worker, warnings };
}

const NO_SILICONCOMPILER =
  "SiliconCompiler nodes will fail: python3 cannot import siliconcompiler, whose run_node is the default node command; install it or set --sc-node-command";

/** Whether python3 finds the siliconcompiler package (without importing it: that takes seconds). */
function siliconCompilerImportable(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('python3', ['-c', 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec("siliconcompiler") else 1)'], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('exit', (code) => resolve(code === 0));
  });
}
