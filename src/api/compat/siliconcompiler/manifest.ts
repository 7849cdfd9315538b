/**
 * Reading a SiliconCompiler manifest (the `cfg` of `remote_run`), the JSON that SiliconCompiler's
 * `BaseSchema.getdict()` writes: nested keys down to a parameter, whose values live under
 * `node.<step>.<index>.value`. `*` (schema 0.55 on; `global` before) stands for "any step/index",
 * and `node.default.default` holds the parameter's default. A lookup falls back exactly as
 * `Parameter.__resolve` does in `siliconcompiler/schema/parameter.py`: the node, its step's
 * global, the fully global value, then the default.
 *
 * The runtime flowgraph (which nodes run, and what each waits for) follows `RuntimeFlowgraph` in
 * `siliconcompiler/flowgraph.py`: from the `-from` steps (else the flow's entry nodes) to the `-to`
 * steps (else its exit nodes), without the `-prune` nodes; a node is kept when it lies on a path
 * from a `from` node to a `to` node. This is the node set the client builds its table from, so
 * `check_progress` reports exactly these nodes (reference §4.3).
 */

export type Manifest = Record<string, unknown>;

export interface FlowNode {
  step: string;
  index: string;
}

/** A node as the wire names it: `<step><index>` (check_progress keys, archive names). */
export function nodeKey(node: FlowNode): string {
  return `${node.step}${node.index}`;
}

export class ManifestError extends Error {}

const GLOBAL_KEYS = ['*', 'global'];
/** Keys of a schema level that are templates, not entries (BaseSchema's `default`, and its metadata). */
const NOT_ENTRIES = new Set(['default', '__meta__', '__journal__']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function child(value: unknown, key: string): unknown {
  return isObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
}

/** The parameter at `keypath`, or undefined when the manifest has none there. */
function parameter(cfg: Manifest, keypath: string[]): Record<string, unknown> | undefined {
  let at: unknown = cfg;
  for (const key of keypath) at = child(at, key);
  return isObject(at) && isObject(at.node) ? at : undefined;
}

/** The parameter's value for a node (or globally), with SiliconCompiler's fallback order. */
export function paramValue(cfg: Manifest, keypath: string[], step?: string, index?: string): unknown {
  const param = parameter(cfg, keypath);
  if (!param) return undefined;
  const nodes = param.node as Record<string, unknown>;
  const valueAt = (s: string, i: string): unknown => {
    const entry = child(child(nodes, s), i);
    return isObject(entry) && Object.hasOwn(entry, 'value') ? entry.value : undefined;
  };
  const candidates: Array<[string, string]> = [];
  if (step !== undefined && index !== undefined) candidates.push([step, index]);
  for (const global of GLOBAL_KEYS) {
    if (step !== undefined) candidates.push([step, global]);
  }
  for (const global of GLOBAL_KEYS) candidates.push([global, global]);
  candidates.push(['default', 'default']);
  for (const [s, i] of candidates) {
    const value = valueAt(s, i);
    if (value !== undefined && value !== null) return value;
  }
  return undefined;
}

/** Sets a global value, as `set()` without step and index would. */
export function setParamValue(cfg: Manifest, keypath: string[], value: unknown): void {
  const param = parameter(cfg, keypath);
  if (!param) return;
  const nodes = param.node as Record<string, unknown>;
  const global = isObject(nodes.global) && !isObject(nodes['*']) ? 'global' : '*';
  const step = isObject(nodes[global]) ? (nodes[global] as Record<string, unknown>) : {};
  const entry = isObject(step[global]) ? (step[global] as Record<string, unknown>) : { signature: null };
  step[global] = { ...entry, value };
  nodes[global] = step;
}

function stringValue(cfg: Manifest, keypath: string[]): string | undefined {
  const value = paramValue(cfg, keypath);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function nodeList(value: unknown): FlowNode[] {
  if (!Array.isArray(value)) return [];
  const nodes: FlowNode[] = [];
  for (const item of value) {
    if (Array.isArray(item) && item.length === 2 && typeof item[0] === 'string' && (typeof item[1] === 'string' || typeof item[1] === 'number')) {
      nodes.push({ step: item[0], index: String(item[1]) });
    }
  }
  return nodes;
}

/** Step and index names SiliconCompiler accepts (`Flowgraph._assert_valid_step/_index`), and nothing that could leave a folder. */
const NODE_NAME = /^[A-Za-z0-9_.-]+$/;
/** A design or job name becomes a folder name: no separators, no `.`/`..`. */
const FOLDER_NAME = /^(?!\.{1,2}$)[^/\\\0]+$/;

export interface Facts {
  design: string;
  jobname: string;
  flow: string;
  /** The runtime nodes in SiliconCompiler's order (sorted by step, then index). */
  nodes: FlowNode[];
  /** Per node key, the runtime nodes it waits for. */
  inputs: Map<string, FlowNode[]>;
  /** Per node key, the status the uploaded manifest records (`record.status`), when any. */
  recorded: Map<string, string>;
}

/** What the server needs of a manifest; a ManifestError names what is missing or wrong. */
export function manifestFacts(cfg: unknown): Facts {
  if (!isObject(cfg)) throw new ManifestError('the manifest (cfg) must be an object');
  // `Project.name` is `option.design` (siliconcompiler/project.py); sc-server names folders by it.
  const design = stringValue(cfg, ['option', 'design']);
  if (!design || !FOLDER_NAME.test(design)) throw new ManifestError('the manifest names no valid design (option.design)');
  const jobname = stringValue(cfg, ['option', 'jobname']) ?? 'job0';
  if (!FOLDER_NAME.test(jobname)) throw new ManifestError(`option.jobname "${jobname}" is not a valid folder name`);
  const flow = stringValue(cfg, ['option', 'flow']);
  if (!flow) throw new ManifestError('the manifest sets no option.flow');
  const graph = child(child(cfg, 'flowgraph'), flow);
  if (!isObject(graph)) throw new ManifestError(`the manifest has no flowgraph "${flow}"`);
  const base = baseGraph(cfg, flow, graph);
  const runtime = runtimeNodes(base, {
    from: stringList(paramValue(cfg, ['option', 'from'])),
    to: stringList(paramValue(cfg, ['option', 'to'])),
    prune: nodeList(paramValue(cfg, ['option', 'prune'])),
  });
  const kept = new Set(runtime.map(nodeKey));
  const inputs = new Map<string, FlowNode[]>();
  const recorded = new Map<string, string>();
  for (const node of runtime) {
    const key = nodeKey(node);
    inputs.set(key, (base.inputs.get(key) ?? []).filter((input) => kept.has(nodeKey(input))));
    const status = paramValue(cfg, ['record', 'status'], node.step, node.index);
    if (typeof status === 'string') recorded.set(key, status);
  }
  return { design, jobname, flow, nodes: runtime, inputs, recorded };
}

interface BaseGraph {
  nodes: FlowNode[];
  /** Per node key, its declared inputs that exist in the flow. */
  inputs: Map<string, FlowNode[]>;
  outputs: Map<string, FlowNode[]>;
}

function baseGraph(cfg: Manifest, flow: string, graph: Record<string, unknown>): BaseGraph {
  const nodes: FlowNode[] = [];
  for (const step of Object.keys(graph)) {
    if (NOT_ENTRIES.has(step)) continue;
    for (const index of Object.keys(graph[step] as Record<string, unknown>)) {
      if (NOT_ENTRIES.has(index)) continue;
      if (!NODE_NAME.test(step) || !NODE_NAME.test(index)) throw new ManifestError(`flowgraph "${flow}" has a node with an invalid name: ${step}/${index}`);
      nodes.push({ step, index });
    }
  }
  if (nodes.length === 0) throw new ManifestError(`flowgraph "${flow}" has no nodes`);
  nodes.sort(compareNodes);
  const exists = new Set(nodes.map(nodeKey));
  const inputs = new Map<string, FlowNode[]>();
  const outputs = new Map<string, FlowNode[]>(nodes.map((node) => [nodeKey(node), []]));
  for (const node of nodes) {
    const declared = nodeList(paramValue(cfg, ['flowgraph', flow, node.step, node.index, 'input']));
    const known = declared.filter((input) => exists.has(nodeKey(input)));
    inputs.set(nodeKey(node), known);
    for (const input of known) outputs.get(nodeKey(input))?.push(node);
  }
  return { nodes, inputs, outputs };
}

/** Python's tuple order, which `sorted()` gives SiliconCompiler's node lists. */
function compareNodes(a: FlowNode, b: FlowNode): number {
  if (a.step !== b.step) return a.step < b.step ? -1 : 1;
  return a.index < b.index ? -1 : a.index > b.index ? 1 : 0;
}

/** `RuntimeFlowgraph.__compute_graph`: the nodes on some path from a `from` node to a `to` node. */
function runtimeNodes(base: BaseGraph, options: { from: string[]; to: string[]; prune: FlowNode[] }): FlowNode[] {
  const steps = new Set(base.nodes.map((node) => node.step));
  for (const step of [...options.from, ...options.to]) {
    if (!steps.has(step)) throw new ManifestError(`step "${step}" of option.from/option.to is not in the flowgraph`);
  }
  const pruned = new Set(options.prune.map(nodeKey));
  const ofSteps = (wanted: string[]): Set<string> => new Set(base.nodes.filter((node) => wanted.includes(node.step)).map(nodeKey));
  const entry = base.nodes.filter((node) => (base.inputs.get(nodeKey(node)) ?? []).length === 0).map(nodeKey);
  const exit = base.nodes.filter((node) => (base.outputs.get(nodeKey(node)) ?? []).length === 0).map(nodeKey);
  const from = new Set([...(options.from.length > 0 ? ofSteps(options.from) : entry)].filter((key) => !pruned.has(key)));
  const to = [...(options.to.length > 0 ? ofSteps(options.to) : exit)].filter((key) => !pruned.has(key));
  const byKey = new Map(base.nodes.map((node) => [nodeKey(node), node]));

  // Walks back along inputs from a `to` node; a path ends at a `from` node or where inputs run out.
  const walk = (key: string, path: string[]): Set<string> => {
    if (pruned.has(key)) return new Set();
    if (path.includes(key)) return new Set(path);
    const here = [...path, key];
    if (from.has(key)) return new Set(here);
    const found = new Set<string>();
    for (const input of base.inputs.get(key) ?? []) for (const node of walk(nodeKey(input), here)) found.add(node);
    return found;
  };
  const kept = new Set<string>();
  for (const exitKey of to) {
    const path = walk(exitKey, []);
    if ([...path].some((key) => from.has(key))) for (const key of path) kept.add(key);
  }
  return [...kept].map((key) => byKey.get(key) as FlowNode).sort(compareNodes);
}

/** Node statuses that mean "done" to SiliconCompiler (`NodeStatus.is_done`). */
export const DONE_STATUSES = new Set(['success', 'error', 'skipped', 'timeout']);
