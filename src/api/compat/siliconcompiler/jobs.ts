/**
 * An SC job as a barge job: one task per runtime node (named `<step>/<index>`), each `needs` its
 * runtime inputs, plus a `setup` task every entry node waits for — sc-server's `null` pseudo-node,
 * and what keeps a flow whose nodes have no edges a graph (barge runs a task list without `needs`
 * in sequence). A failed node's dependents are SKIPPED by the engine; other branches go on.
 *
 * Every task runs on the SC queue, which only the face's node worker (runner.ts) serves: it puts
 * the job folder into the task's work folder before the command runs and takes the node's
 * results out after.
 */
import type { ExecutionRow, JobRow, TaskRow } from '../../../core/model.js';
import type { JobSpec, TaskSpec } from '../../../core/spec-types.js';
import type { Engine } from '../../../engine/engine.js';
import type { JobRecord } from './folders.js';
import { nodeKey, type Facts, type FlowNode } from './manifest.js';
import { elapsedOf, nodeStatus } from './states.js';

/** The queue of SC node tasks, served by the face's own node worker. */
export const SC_QUEUE = 'siliconcompiler';
export const SETUP_TASK = 'setup';

/**
 * SiliconCompiler's own per-node entry point (`siliconcompiler/scheduler/run_node.py`), as its
 * Slurm scheduler calls it.
 */
export const DEFAULT_NODE_COMMAND =
  'python3 -m siliconcompiler.scheduler.run_node -cfg {manifest} -cwd {cwd} -builddir {builddir} -step {step} -index {index} -remoteid {hash} -unset_scheduler';

/**
 * The node command's placeholders, each a quoted shell variable: names from the upload (design,
 * job name) reach the script only through the environment, never as script text.
 */
const PLACEHOLDERS: Record<string, string> = {
  manifest: '"$BARGE_WORKDIR/$SC_HASH/$SC_DESIGN/$SC_JOBNAME/$SC_DESIGN.pkg.json"',
  builddir: '"$BARGE_WORKDIR/$SC_HASH"',
  jobdir: '"$BARGE_WORKDIR/$SC_HASH/$SC_DESIGN/$SC_JOBNAME"',
  cwd: '"$BARGE_WORKDIR"',
  step: '"$SC_STEP"',
  index: '"$SC_INDEX"',
  hash: '"$SC_HASH"',
};

/** The node task's script from the command template. Unknown `{names}` are left as written. */
export function nodeScript(template: string): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => PLACEHOLDERS[name] ?? whole);
}

/** What an SC job's barge metadata says (`metadata.siliconcompiler`): set by this face only. */
export interface ScJobFacts {
  hash: string;
  design: string;
  jobname: string;
  flow: string;
}

export const ORIGIN = 'siliconcompiler';

export function scMetadata(hash: string, facts: Facts): JobRow['metadata'] {
  return { siliconcompiler: { hash, design: facts.design, jobname: facts.jobname, flow: facts.flow } };
}

/**
 * The SC facts of a barge job, when it is one this face created: its origin cannot be set through
 * any other API, so a /v1 job that copies the metadata is still not one.
 */
export function scJobOf(job: JobRow | undefined): ScJobFacts | null {
  if (!job || job.origin !== ORIGIN) return null;
  const facts = job.metadata.siliconcompiler;
  if (typeof facts !== 'object' || facts === null || Array.isArray(facts)) return null;
  const { hash, design, jobname, flow } = facts as Record<string, unknown>;
  if (typeof hash !== 'string' || typeof design !== 'string' || typeof jobname !== 'string') return null;
  return { hash, design, jobname, flow: typeof flow === 'string' ? flow : '' };
}

export function taskName(node: FlowNode): string {
  return `${node.step}/${node.index}`;
}

export interface NodeSettings {
  command: string;
  /** Megabytes each node may use. */
  memoryMb: number;
  cpus: number;
}

export function scJobSpec(hash: string, facts: Facts, settings: NodeSettings): JobSpec {
  const env = { SC_HASH: hash, SC_DESIGN: facts.design, SC_JOBNAME: facts.jobname };
  const limits = { cpus: settings.cpus, memory: settings.memoryMb };
  const setup: TaskSpec = { name: SETUP_TASK, description: 'SiliconCompiler job setup (the null node)', run: 'true', env, queue: SC_QUEUE };
  const nodes: TaskSpec[] = facts.nodes.map((node) => {
    const inputs = facts.inputs.get(nodeKey(node)) ?? [];
    return {
      name: taskName(node),
      description: `SiliconCompiler node ${node.step}/${node.index}`,
      run: nodeScript(settings.command),
      env: { ...env, SC_STEP: node.step, SC_INDEX: node.index },
      queue: SC_QUEUE,
      limits,
      needs: inputs.length > 0 ? inputs.map(taskName) : [SETUP_TASK],
    };
  });
  return {
    name: `${facts.design}/${facts.jobname}`,
    description: `SiliconCompiler remote run ${hash} (flow ${facts.flow})`,
    tags: ['siliconcompiler'],
    queue: SC_QUEUE,
    tasks: [setup, ...nodes],
  };
}

export interface NodeEntry {
  status: string;
  elapsed_time?: string;
}

/**
 * `check_progress`'s node table (reference §4.3): `null` for setup, then `<step><index>` for each
 * runtime node; `status`, and `elapsed_time` once started.
 */
export async function nodeTable(engine: Engine, job: JobRow, record: JobRecord): Promise<Record<string, NodeEntry>> {
  const tasks = await engine.store.taskList(job.id);
  const latest = new Map<string, ExecutionRow>();
  for (const execution of await engine.store.executionList({ jobId: job.id, parentId: null, limit: 100_000 })) {
    latest.set(execution.taskId, execution);
  }
  const byName = new Map<string, TaskRow>(tasks.map((task) => [task.name, task]));
  const now = engine.clock.now();
  const entry = (task: TaskRow | undefined, recorded?: string): NodeEntry => {
    if (!task) return { status: 'pending' };
    const execution = latest.get(task.id);
    const elapsed = elapsedOf(execution, now);
    return { status: nodeStatus(task, execution, recorded), ...(elapsed === undefined ? {} : { elapsed_time: elapsed }) };
  };
  const table: Record<string, NodeEntry> = { null: entry(byName.get(SETUP_TASK)) };
  for (const node of record.nodes) table[nodeKey(node)] = entry(byName.get(taskName(node)), record.recorded[nodeKey(node)]);
  return table;
}
