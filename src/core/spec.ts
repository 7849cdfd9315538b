/**
 * Reading and validating job specs. A spec arrives as YAML or JSON text (or as data a compat
 * module built); `validateJobSpec` checks it against Tork's input rules (tork.md §5) plus barge's
 * additions (`lua`, `args`, `network`, `needs`, job `queue` and `priority`) and returns a
 * normalized copy: only known fields, empty strings dropped (Go's `omitempty`), YAML scalars
 * turned into strings where strings are expected. Every problem is reported at once, each with
 * its field path (`tasks[2].retry.limit: must be 1..10`).
 *
 * As in Tork, a task with nothing to run (no run, lua, image, cmd or composite) is valid: it runs
 * as an empty shell script. A job `output` without `{{` must compile as an expression (Tork's
 * rule), so `output: hello world` is refused. A number in `limits.memory` is megabytes.
 *
 * Decisions beyond Tork, each refusing only specs that could not work as written:
 * - sub-job tasks are validated like a job's tasks (barge validates the sub-job when it starts);
 * - `{{ … }}` placeholders in templated fields (task name, var, image, queue, env, cmd, args,
 *   sub-job name, inputs and secrets, webhook url) must compile; an unknown function is only found
 *   when the template runs, as in Tork;
 * - timeouts may not be negative; `each.var` must be an identifier; webhook `event` must be one
 *   of the four Tork knows; `lua` excludes `run`, `image`, `cmd` and `entrypoint`; composites
 *   also refuse barge's `args` and `network`.
 * Permission entries are checked for shape only: whether the user or role exists is the API's
 * business. Tork's `wait` and `schedule` keys belong to the Tork API module, not to the spec.
 */
import { withJsonPlace } from './json-position.js';
import { parse as parseYaml } from 'yaml';
import { parseCpus, parseDuration, parseMemoryMb } from './duration.js';
import { coerceError, ValidationError, type Problem } from './errors.js';
import { checkExpression, checkTemplate } from './expr.js';
import type { ExecutionKind } from './model.js';
import type { AuxTaskSpec, JobSpec, TaskSpec } from './spec-types.js';

/** A sidecar: a pre/post-style task plus Tork's readiness probe. */
export interface SidecarSpec extends AuxTaskSpec {
  probe?: { path: string; port: number; timeout?: string };
}

export interface ValidateOptions {
  /**
   * Turn numbers and booleans into strings where strings are expected (`env: {N: 5}`), as Tork's
   * YAML decoder does. Pass false for Tork's JSON strictness. (Default: true)
   */
  coerceScalars?: boolean;
  /**
   * Refuse a task with nothing to run (no run, lua, image or composite) instead of running it as
   * an empty script, which Tork allows and /v1 does not: there it is almost always a typo such as
   * `script:` for `run:`. (Default: false, Tork's rule)
   */
  requireSomethingToRun?: boolean;
}

// ---- text ---------------------------------------------------------------------------------------

/** YAML parsing refuses alias bombs (more than 100 alias expansions) and duplicate keys. */
const YAML_OPTIONS = { maxAliasCount: 100, uniqueKeys: true, merge: true, logLevel: 'error' } as const;

/** Parses a spec document; syntax errors become a ValidationError with the parser's line and column. */
export function parseSpecText(text: string, format: 'yaml' | 'json'): unknown {
  if (text.trim() === '') throw new ValidationError([{ path: '', message: 'empty document' }]);
  try {
    return format === 'json' ? (JSON.parse(text) as unknown) : (parseYaml(text, YAML_OPTIONS) as unknown);
  } catch (error) {
    const message = format === 'json' ? withJsonPlace(text, coerceError(error).message) : firstLine(coerceError(error).message);
    throw new ValidationError([{ path: '', message: `not valid ${format.toUpperCase()}: ${message}` }]);
  }
}

function firstLine(message: string): string {
  return message.split('\n')[0].replace(/:$/, '');
}

// ---- the checker ----------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
type Reader = (c: Checker, value: unknown, path: string) => unknown;

/** How deeply composites may nest (parallel in each in sub-job …); deeper is surely a mistake. */
const MAX_TASK_DEPTH = 32;

class Checker {
  readonly problems: Problem[] = [];
  taskDepth = 0;

  constructor(
    readonly coerceScalars: boolean,
    readonly requireSomethingToRun = false,
  ) {}

  report(path: string, message: string): void {
    this.problems.push({ path, message });
  }
}

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null;
}

/** Whether a field is set the way Go's `omitempty` sees it: not nil, not "", not an empty list or map. */
function isSet(value: unknown): boolean {
  if (isAbsent(value) || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  return !isObject(value) || Object.keys(value).length > 0;
}

/** `tasks[0].env.HOME`, or `…env["MY-VAR"]` when the key is not a plain name. */
function fieldPath(path: string, key: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path ? `${path}.${key}` : key;
}

/**
 * Reads an object whose keys are all in `fields`: unknown keys are reported, each present field
 * goes through its reader, absent required fields are reported. Returns the normalized object.
 */
function readObject(c: Checker, value: unknown, path: string, fields: Record<string, Reader>, required: readonly string[] = []): Obj | undefined {
  if (!isObject(value)) {
    c.report(path, 'must be an object');
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(fields, key)) c.report(fieldPath(path, key), 'unknown field');
  }
  const out: Obj = {};
  for (const [key, read] of Object.entries(fields)) {
    const at = fieldPath(path, key);
    const before = c.problems.length;
    const normalized = isAbsent(value[key]) ? undefined : read(c, value[key], at);
    if (normalized !== undefined) out[key] = normalized;
    else if (required.includes(key) && c.problems.length === before) c.report(at, 'required');
  }
  return out;
}

// ---- field readers --------------------------------------------------------------------------------

/** A string; numbers and booleans become strings when coercing. '' reads as absent. */
const text: Reader = (c, value, path) => {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (c.coerceScalars && (typeof value === 'number' || typeof value === 'boolean')) return String(value);
  c.report(path, 'must be a string');
  return undefined;
};

function textChecked(check: (value: string) => string | null): Reader {
  return (c, value, path) => {
    const read = text(c, value, path) as string | undefined;
    const problem = read === undefined ? null : check(read);
    if (problem) c.report(path, problem);
    return problem ? undefined : read;
  };
}

/** Characters as Go's validator counts them: code points, not UTF-16 units. */
const maxLength = (limit: number): Reader =>
  textChecked((value) => {
    const length = Array.from(value).length;
    return length > limit ? `must be at most ${limit} characters (got ${length})` : null;
  });

/** A string that may hold `{{ … }}` placeholders, each of which must compile. */
const template = textChecked(checkTemplate);

/** An expression, with or without a surrounding `{{ }}` (each.list, webhook if). */
const expression = textChecked(checkExpression);

/** `if` and `output`: a template when it holds `{{`, else one bare expression (Tork compiles it). */
const condition = textChecked((value) => (value.includes('{{') ? checkTemplate(value) : checkExpression(value)));

const duration = textChecked((value) => {
  try {
    return parseDuration(value) < 0 ? 'must not be negative' : null;
  } catch (error) {
    return `${coerceError(error).message} (write e.g. 30s, 5m, 1h30m)`;
  }
});

/** Tork's broker keeps these names and the `x-` prefix for itself. */
const COORDINATOR_QUEUES = ['pending', 'started', 'completed', 'error', 'heartbeat', 'jobs', 'logs', 'progress', 'redeliveries'];

const queue = textChecked((value) => {
  if (value.startsWith('x-')) return 'must not start with "x-" (reserved for exclusive queues)';
  if (COORDINATOR_QUEUES.includes(value)) return `"${value}" is a reserved queue name`;
  return checkTemplate(value);
});

const identifier = textChecked((value) =>
  /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(value) ? null : 'must be a name of at most 64 letters, digits and _ (not starting with a digit)',
);

function integer(min: number, max: number): Reader {
  return (c, value, path) => {
    if (typeof value !== 'number' || !Number.isInteger(value)) c.report(path, 'must be an integer');
    else if (value < min || value > max) c.report(path, `must be ${min}..${max}`);
    else return value;
    return undefined;
  };
}

const boolean: Reader = (c, value, path) => {
  if (typeof value === 'boolean') return value;
  c.report(path, 'must be a boolean');
  return undefined;
};

function listOf(read: Reader): Reader {
  return (c, value, path) => {
    if (!Array.isArray(value)) {
      c.report(path, 'must be a list');
      return undefined;
    }
    const items = value.map((item, i) => (isAbsent(item) ? c.report(`${path}[${i}]`, 'must not be empty') : read(c, item, `${path}[${i}]`)));
    return items.every((item) => item !== undefined) ? items : undefined;
  };
}

/** Strings in a list are kept even when empty: `cmd: ["echo", ""]` means an empty argument. */
const listItem: Reader = (c, value, path) => (value === '' ? '' : text(c, value, path));
const templateItem: Reader = (c, value, path) => (value === '' ? '' : template(c, value, path));

function mapOf(read: Reader): Reader {
  return (c, value, path) => {
    if (!isObject(value)) {
      c.report(path, 'must be a map of strings');
      return undefined;
    }
    // YAML `KEY:` with no value is null; Go's decoder makes it "".
    const entries = Object.entries(value).map(([key, item]) => [key, isAbsent(item) || item === '' ? '' : read(c, item, fieldPath(path, key))] as const);
    return entries.every(([, item]) => item !== undefined) ? Object.fromEntries(entries) : undefined;
  };
}

const textList = listOf(listItem);
const textMap = mapOf(text);
const templateMap = mapOf(template);

const cpus: Reader = (c, value, path) => {
  try {
    if (typeof value !== 'string' && typeof value !== 'number') throw new Error('must be a number or a string such as ".5"');
    parseCpus(value);
    return value;
  } catch (error) {
    c.report(path, coerceError(error).message);
    return undefined;
  }
};

const memory: Reader = (c, value, path) => {
  try {
    if (typeof value !== 'string' && typeof value !== 'number') throw new Error('must be a number of megabytes or a string such as "512m"');
    parseMemoryMb(value);
    return value;
  } catch (error) {
    c.report(path, coerceError(error).message);
    return undefined;
  }
};

function objectOf(fields: Record<string, Reader>, required: readonly string[] = []): Reader {
  return (c, value, path) => readObject(c, value, path, fields, required);
}

const retry = objectOf({ limit: integer(1, 10) }, ['limit']);
const limits = objectOf({ cpus, memory });
const registry = objectOf({ username: text, password: text });
const autoDelete = objectOf({ after: duration }, ['after']);

const WEBHOOK_EVENTS = ['job.StateChange', 'job.Progress', 'task.StateChange', 'task.Progress'];

function httpUrlProblem(value: string): string | null {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? null : 'must be an http or https URL';
  } catch {
    return 'must be an http or https URL';
  }
}

const webhookUrl = textChecked((value) => (value.includes('{{') ? checkTemplate(value) : httpUrlProblem(value)));

/** srtslurm's `reporting.status`: collectors the job's stages are reported to, and the secret holding their bearer token. */
const statusUrl = textChecked(httpUrlProblem);
const reporting = objectOf({ status: objectOf({ endpoint: statusUrl, endpoints: listOf(statusUrl), token_secret: text }) });

const webhooks = listOf(
  objectOf(
    {
      url: webhookUrl,
      headers: templateMap,
      event: textChecked((value) => (WEBHOOK_EVENTS.includes(value) ? null : `must be one of ${WEBHOOK_EVENTS.join(', ')}`)),
      if: expression,
    },
    ['url'],
  ),
);

const permissions = listOf((c, value, path) => {
  const permission = readObject(c, value, path, { user: text, role: text });
  if (permission && Object.keys(permission).length !== 1) c.report(path, 'must name exactly one of user or role');
  return permission;
});

/** Tork's pattern for mount sources and targets. */
const MOUNT_PATH = /^[-/.0-9a-zA-Z_= ]+$/;
const mountPath = textChecked((value) => (MOUNT_PATH.test(value) ? null : 'may only hold letters, digits, spaces and - / . _ ='));

const mounts = listOf((c, value, path) => {
  const before = c.problems.length;
  const mount = readObject(c, value, path, { type: text, source: mountPath, target: mountPath, opts: textMap }, ['type']);
  if (!mount || c.problems.length !== before) return mount;
  if (mount.type === 'volume' && mount.source !== undefined) c.report(`${path}.source`, 'must be empty for a volume mount');
  if (mount.type === 'volume' && mount.target === undefined) c.report(`${path}.target`, 'required for a volume mount');
  if (mount.type === 'bind' && mount.source === undefined) c.report(`${path}.source`, 'required for a bind mount');
  if (mount.target === '/tork') c.report(`${path}.target`, '/tork is reserved');
  return mount;
});

const AUX_FIELDS: Record<string, Reader> = {
  name: template,
  description: text,
  run: text,
  image: template,
  cmd: listOf(templateItem),
  entrypoint: textList,
  env: templateMap,
  files: textMap,
  timeout: duration,
  registry,
};

const auxTasks = listOf(objectOf(AUX_FIELDS, ['name']));
const sidecars = listOf(
  objectOf({ ...AUX_FIELDS, probe: objectOf({ path: text, port: integer(1, 65535), timeout: duration }, ['path', 'port']) }, ['name']),
);

// ---- tasks ------------------------------------------------------------------------------------------

const nestedTask: Reader = (c, value, path) => readTask(c, value, path, false);

const parallel = objectOf(
  {
    tasks: (c, value, path) => {
      const tasks = listOf(nestedTask)(c, value, path) as TaskSpec[] | undefined;
      if (Array.isArray(value) && value.length === 0) c.report(path, 'must have at least one task');
      return tasks;
    },
  },
  ['tasks'],
);

const each = objectOf({ list: expression, var: identifier, concurrency: integer(0, 99_999), failFast: boolean, task: nestedTask }, ['list', 'task']);

const subjob = objectOf(
  {
    id: text,
    name: template,
    description: text,
    tasks: topLevelTasks,
    inputs: templateMap,
    secrets: templateMap,
    autoDelete,
    output: condition,
    detached: boolean,
    webhooks,
  },
  ['name', 'tasks'],
);

const varLength = maxLength(64);

/** Field order here is the order of the normalized spec. */
const TASK_FIELDS: Record<keyof TaskSpec, Reader> = {
  name: template,
  description: text,
  run: text,
  lua: text,
  args: listOf(templateItem),
  image: template,
  cmd: listOf(templateItem),
  entrypoint: textList,
  registry,
  env: templateMap,
  files: textMap,
  workdir: maxLength(256),
  timeout: duration,
  retry,
  limits,
  queue,
  priority: integer(0, 9),
  var: (c, value, path) => (varLength(c, value, path) === undefined ? undefined : template(c, value, path)),
  if: condition,
  pre: auxTasks,
  post: auxTasks,
  sidecars,
  mounts,
  networks: textList,
  gpus: text,
  tags: textList,
  parallel,
  each,
  subjob,
  needs: textList,
  network: boolean,
};

const COMPOSITES = ['parallel', 'each', 'subjob'] as const;
/** What a composite task may not also set: it runs nothing itself. */
const NOT_ON_COMPOSITES = ['image', 'cmd', 'entrypoint', 'run', 'lua', 'args', 'env', 'queue', 'pre', 'post', 'mounts', 'retry', 'limits', 'timeout', 'network'];
/** `lua` runs in barge's Lua runtime, so nothing that belongs to a shell or a container. */
const NOT_WITH_LUA = ['run', 'image', 'cmd', 'entrypoint'];

function readTask(c: Checker, value: unknown, path: string, topLevel: boolean): TaskSpec | undefined {
  if (c.taskDepth >= MAX_TASK_DEPTH) {
    c.report(path, `tasks nested more than ${MAX_TASK_DEPTH} deep`);
    return undefined;
  }
  c.taskDepth += 1;
  try {
    const task = readObject(c, value, path, TASK_FIELDS, ['name']);
    if (task && isObject(value)) checkTaskCombinations(c, value, path, topLevel);
    return task as TaskSpec | undefined;
  } finally {
    c.taskDepth -= 1;
  }
}

/** Rules across fields, on the raw input so a field with its own problem still counts as set. */
function checkTaskCombinations(c: Checker, raw: Obj, path: string, topLevel: boolean): void {
  const composites = COMPOSITES.filter((key) => !isAbsent(raw[key]));
  if (composites.length > 1) c.report(path, `${composites.join(' and ')} are mutually exclusive`);
  if (composites.length > 0) {
    for (const key of NOT_ON_COMPOSITES.filter((field) => isSet(raw[field]))) {
      c.report(fieldPath(path, key), `not allowed on a ${composites[0]} task`);
    }
  } else if (isSet(raw.lua)) {
    for (const key of NOT_WITH_LUA.filter((field) => isSet(raw[field]))) c.report(fieldPath(path, key), 'cannot be combined with lua');
  } else if (c.requireSomethingToRun && !isSet(raw.run) && !isSet(raw.image)) {
    const name = typeof raw.name === 'string' ? `task "${raw.name}"` : 'this task';
    c.report(path, `${name} has nothing to run: give it run (a shell script), lua, image, or parallel, each or subjob`);
  }
  if (!topLevel && isSet(raw.needs)) c.report(fieldPath(path, 'needs'), 'only allowed on top-level tasks');
}

/** A job's (or sub-job's) task list: at least one task, and a sound `needs` graph. */
function topLevelTasks(c: Checker, value: unknown, path: string): TaskSpec[] | undefined {
  if (!Array.isArray(value)) {
    c.report(path, 'must be a list');
    return undefined;
  }
  if (value.length === 0) c.report(path, 'must have at least one task');
  const tasks = value.map((item, i) => readTask(c, item, `${path}[${i}]`, true));
  checkNeeds(c, tasks, path);
  return tasks.every((task) => task !== undefined) ? tasks : undefined;
}

function usesNeeds(tasks: ReadonlyArray<TaskSpec | undefined>): boolean {
  return tasks.some((task) => (task?.needs?.length ?? 0) > 0);
}

/** Unique names, known targets, no self-need and no cycle, once any task of the list uses `needs`. */
function checkNeeds(c: Checker, tasks: Array<TaskSpec | undefined>, path: string): void {
  if (!usesNeeds(tasks)) return;
  const indexByName = new Map<string, number>();
  tasks.forEach((task, i) => {
    if (!task?.name) return;
    if (indexByName.has(task.name)) {
      c.report(`${path}[${i}].name`, `duplicate task name "${task.name}" (names must be unique when tasks use needs)`);
    } else {
      indexByName.set(task.name, i);
    }
  });
  const edges = tasks.map((task, i) =>
    (task?.needs ?? []).flatMap((need, j) => {
      const target = indexByName.get(need);
      if (need === task?.name) c.report(`${path}[${i}].needs[${j}]`, 'a task cannot need itself');
      else if (target === undefined) c.report(`${path}[${i}].needs[${j}]`, `unknown task "${need}"`);
      else return [target];
      return [];
    }),
  );
  for (const cycle of findCycles(edges)) {
    c.report(path, `cycle in needs: ${cycle.map((i) => tasks[i]?.name).join(' → ')}`);
  }
}

const MAX_REPORTED_CYCLES = 10;

/**
 * Cycles in a graph given as adjacency lists, each as the node path closed by its first node
 * (`[a, b, a]`). Iterative depth-first search, so a 10,000-task chain cannot overflow the stack.
 */
function findCycles(edges: number[][]): number[][] {
  const state = new Array<'new' | 'open' | 'done'>(edges.length).fill('new');
  const cycles: number[][] = [];
  for (let root = 0; root < edges.length && cycles.length < MAX_REPORTED_CYCLES; root++) {
    if (state[root] !== 'new') continue;
    const stack: Array<{ node: number; next: number }> = [{ node: root, next: 0 }];
    state[root] = 'open';
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.next >= edges[top.node].length) {
        state[top.node] = 'done';
        stack.pop();
        continue;
      }
      const target = edges[top.node][top.next++];
      if (state[target] === 'open') {
        const from = stack.findIndex((frame) => frame.node === target);
        cycles.push([...stack.slice(from).map((frame) => frame.node), target]);
      } else if (state[target] === 'new') {
        state[target] = 'open';
        stack.push({ node: target, next: 0 });
      }
    }
  }
  return cycles.slice(0, MAX_REPORTED_CYCLES);
}

// ---- jobs -------------------------------------------------------------------------------------------

const defaults = objectOf({ retry, limits, timeout: duration, queue, priority: integer(0, 9) });

/** Field order here is the order of the normalized spec. */
const JOB_FIELDS: Record<keyof JobSpec, Reader> = {
  name: text,
  description: text,
  tags: textList,
  inputs: textMap,
  secrets: textMap,
  defaults,
  output: condition,
  webhooks,
  queue,
  priority: integer(0, 9),
  tasks: topLevelTasks,
  autoDelete,
  permissions,
  reporting,
};

/**
 * Validates a job spec and returns its normalized copy; throws ValidationError listing every
 * problem, each with its field path.
 */
export function validateJobSpec(input: unknown, options: ValidateOptions = {}): JobSpec {
  const c = new Checker(options.coerceScalars ?? true, options.requireSomethingToRun ?? false);
  reportNul(c, input, '');
  const spec = readObject(c, input, '', JOB_FIELDS, ['name', 'tasks']);
  if (!spec || c.problems.length > 0) {
    throw new ValidationError(c.problems.length > 0 ? c.problems : [{ path: '', message: 'must be an object' }]);
  }
  return spec as unknown as JobSpec;
}

/** How deep the NUL scan looks; deeper specs are refused elsewhere (MAX_TASK_DEPTH). */
const MAX_NUL_SCAN_DEPTH = 200;

/**
 * A NUL character, anywhere in a key or string, is refused: PostgreSQL cannot store it in text or
 * JSON, and both stores must answer the same spec the same way.
 */
function reportNul(c: Checker, value: unknown, path: string, depth = 0): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) c.report(path, 'contains a NUL character (\\u0000), which cannot be stored');
    return;
  }
  if (typeof value !== 'object' || value === null || depth > MAX_NUL_SCAN_DEPTH) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => reportNul(c, item, `${path}[${i}]`, depth + 1));
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    const at = fieldPath(path, key);
    if (key.includes('\u0000')) c.report(at, 'a key contains a NUL character (\\u0000), which cannot be stored');
    reportNul(c, item, at, depth + 1);
  }
}

// ---- reading a valid spec ---------------------------------------------------------------------------

/** What runs a task: a composite by its key, else `lua`, else a container when it has an image, else bash. */
export function taskKind(task: TaskSpec): ExecutionKind {
  if (task.parallel) return 'parallel';
  if (task.each) return 'each';
  if (task.subjob) return 'subjob';
  if (task.lua) return 'lua';
  if (task.image) return 'container';
  return 'shell';
}

/**
 * For each top-level task, the indices of the tasks it waits for: its `needs` when any task of
 * the job has `needs` (a graph), else the task before it (a sequence, where names may repeat).
 * Expects a validated spec.
 */
export function dependencyIndices(spec: JobSpec): number[][] {
  if (!usesNeeds(spec.tasks)) return spec.tasks.map((_, i) => (i === 0 ? [] : [i - 1]));
  const indexByName = new Map<string, number>();
  spec.tasks.forEach((task, i) => {
    if (!indexByName.has(task.name)) indexByName.set(task.name, i);
  });
  return spec.tasks.map((task) => (task.needs ?? []).flatMap((need) => indexByName.get(need) ?? []));
}
