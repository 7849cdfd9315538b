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

export function scAppOptions(config: ServerConfig, nodes: ScNodes): ScAppOptions {
  return {
    onSubmitted: () => nodes.start(),
    root: config.scWorkdir,
    open: config.scOpen,
    checkIntervalSeconds: config.scCheckInterval,
    maxUploadBytes: Math.floor(config.scMaxUploadMb * 1024 * 1024),
    maxNodes: config.scMaxNodes,
    node: { command: config.scNodeCommand ?? DEFAULT_NODE_COMMAND, memoryMb: config.scNodeMemory },
    terms: config.scTerms,
  };
}

/**
 * The node worker, started on first need: when this process accepts an SC job, or at start when
 * unfinished SC jobs exist (a restart). A server that never sees SiliconCompiler runs no extra
 * worker and lists no extra node.
 */
export class ScNodes {
  private worker: Worker | null = null;

  private constructor(
    private readonly config: ServerConfig,
    private readonly engine: Engine,
    private readonly nodeId: string,
  ) {}

  /** Gives back what a previous process's node worker held, and starts now if SC jobs are open. */
  static async open(config: ServerConfig, engine: Engine, nodeId: string, previousNodeId: string | undefined): Promise<ScNodes> {
    const nodes = new ScNodes(config, engine, nodeId);
    if (previousNodeId) await engine.releaseNode(nodeWorkerId(previousNodeId), 'node restarted');
    const open = await engine.store.jobList({ origin: 'siliconcompiler', states: ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING'], limit: 1 });
    if (open.length > 0) nodes.start();
    return nodes;
  }

  start(): void {
    if (this.worker) return;
    const folders = new ScFolders(this.config.scWorkdir);
    this.worker = createNodeWorker({
      engine: this.engine,
      folders,
      shell: createShellRuntime(shellOptions(this.config, nodeWorkerId(this.nodeId))),
      processNodeId: this.nodeId,
      version: VERSION,
      cpus: this.config.cpus,
      memoryMb: this.config.memory,
    });
    this.worker.start();
    if (this.config.scNodeCommand === undefined) {
      void siliconCompilerImportable().then((found) => {
        if (!found) process.stderr.write(`barge: WARNING: ${NO_SILICONCOMPILER}\n`);
      });
    }
  }

  async stop(): Promise<void> {
    await this.worker?.stop();
  }
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
