/**
 * What Tork accepts on `POST /jobs` and `POST /scheduled-jobs` (tork.md §5), written as Go
 * structs: each field has its Go name (validator messages use it), its JSON/YAML key and its
 * validate tags. decode.ts reads bodies strictly against these structs, validate.ts applies the
 * tags; both follow Go's `encoding/json`, `yaml.v3` and `go-playground/validator`.
 *
 * Field order is the Go declaration order: it is the order in which Go reports problems.
 */

/** Queue names Tork's coordinator keeps for itself (with the `x-` prefix of per-node queues). */
export const COORDINATOR_QUEUES: readonly string[] = ['pending', 'started', 'completed', 'error', 'heartbeat', 'jobs', 'logs', 'progress', 'redeliveries'];
export const EXCLUSIVE_QUEUE_PREFIX = 'x-';

/** Whether a queue may carry tasks: not a coordinator queue, not a node's exclusive queue. */
export function isTaskQueue(name: string): boolean {
  return !name.startsWith(EXCLUSIVE_QUEUE_PREFIX) && !COORDINATOR_QUEUES.includes(name);
}

/** A Go type as the decoders and the validator need it. */
export type GoType =
  | { kind: 'string' }
  | { kind: 'int' }
  | { kind: 'bool' }
  | { kind: 'map' }
  | { kind: 'slice'; of: GoType }
  | StructRef;

/** A struct, held directly (`Each.Task`) or through a pointer (`*Retry`, nil when absent). */
export interface StructRef {
  kind: 'struct';
  struct: () => GoStruct;
  pointer: boolean;
}

export interface GoField {
  go: string;
  key: string;
  type: GoType;
  /** go-playground/validator tags, in order: required, min=N, max=N, dive, duration, queue, expr, cron. */
  validate?: string[];
}

export interface GoStruct {
  /** `input.Task`, as Go prints the type. */
  typeName: string;
  /** `Task`, as validator namespaces and JSON errors name it. */
  name: string;
  fields: GoField[];
}

const STRING: GoType = { kind: 'string' };
const INT: GoType = { kind: 'int' };
const BOOL: GoType = { kind: 'bool' };
const MAP: GoType = { kind: 'map' };
const STRINGS: GoType = { kind: 'slice', of: STRING };

const ptr = (struct: () => GoStruct): StructRef => ({ kind: 'struct', struct, pointer: true });
const value = (struct: () => GoStruct): StructRef => ({ kind: 'struct', struct, pointer: false });
const sliceOf = (struct: () => GoStruct): GoType => ({ kind: 'slice', of: value(struct) });

function field(go: string, key: string, type: GoType, ...validate: string[]): GoField {
  return validate.length > 0 ? { go, key, type, validate } : { go, key, type };
}

function struct(name: string, fields: GoField[]): GoStruct {
  return { typeName: `input.${name}`, name, fields };
}

const Registry: GoStruct = struct('Registry', [field('Username', 'username', STRING), field('Password', 'password', STRING)]);

const Retry: GoStruct = struct('Retry', [field('Limit', 'limit', INT, 'required', 'min=1', 'max=10')]);

const Limits: GoStruct = struct('Limits', [field('CPUs', 'cpus', STRING), field('Memory', 'memory', STRING)]);

const Mount: GoStruct = struct('Mount', [
  field('Type', 'type', STRING),
  field('Source', 'source', STRING),
  field('Target', 'target', STRING),
  field('Opts', 'opts', MAP),
]);

const Probe: GoStruct = struct('Probe', [
  field('Path', 'path', STRING, 'required'),
  field('Port', 'port', INT, 'required', 'min=1', 'max=65535'),
  field('Timeout', 'timeout', STRING, 'duration'),
]);

const AUX_FIELDS: GoField[] = [
  field('Name', 'name', STRING, 'required'),
  field('Description', 'description', STRING),
  field('CMD', 'cmd', STRINGS),
  field('Entrypoint', 'entrypoint', STRINGS),
  field('Run', 'run', STRING),
  field('Image', 'image', STRING),
  field('Registry', 'registry', ptr(() => Registry)),
  field('Env', 'env', MAP),
  field('Files', 'files', MAP),
  field('Timeout', 'timeout', STRING, 'duration'),
];

const AuxTask: GoStruct = struct('AuxTask', AUX_FIELDS);

const SidecarTask: GoStruct = struct('SidecarTask', [...AUX_FIELDS, field('Probe', 'probe', ptr(() => Probe))]);

const AutoDelete: GoStruct = struct('AutoDelete', [field('After', 'after', STRING, 'duration')]);

const Webhook: GoStruct = struct('Webhook', [
  field('URL', 'url', STRING, 'required'),
  field('Headers', 'headers', MAP),
  field('Event', 'event', STRING),
  field('If', 'if', STRING, 'expr'),
]);

const Parallel: GoStruct = struct('Parallel', [field('Tasks', 'tasks', sliceOf(() => Task), 'required', 'min=1', 'dive')]);

const Each: GoStruct = struct('Each', [
  field('Var', 'var', STRING),
  field('List', 'list', STRING, 'required', 'expr'),
  field('Task', 'task', value(() => Task)),
  field('Concurrency', 'concurrency', INT, 'min=0', 'max=99999'),
]);

/** Sub-job tasks are `required` but not `dive`d: Tork does not validate them at submit. */
const SubJob: GoStruct = struct('SubJob', [
  field('ID', 'id', STRING),
  field('Name', 'name', STRING, 'required'),
  field('Description', 'description', STRING),
  field('Tasks', 'tasks', sliceOf(() => Task), 'required'),
  field('Inputs', 'inputs', MAP),
  field('Secrets', 'secrets', MAP),
  field('AutoDelete', 'autoDelete', ptr(() => AutoDelete)),
  field('Output', 'output', STRING, 'expr'),
  field('Detached', 'detached', BOOL),
  field('Webhooks', 'webhooks', sliceOf(() => Webhook), 'dive'),
]);

export const Task: GoStruct = struct('Task', [
  field('Name', 'name', STRING, 'required'),
  field('Description', 'description', STRING),
  field('CMD', 'cmd', STRINGS),
  field('Entrypoint', 'entrypoint', STRINGS),
  field('Run', 'run', STRING),
  field('Image', 'image', STRING),
  field('Registry', 'registry', ptr(() => Registry)),
  field('Env', 'env', MAP),
  field('Files', 'files', MAP),
  field('Queue', 'queue', STRING, 'queue'),
  field('Pre', 'pre', sliceOf(() => AuxTask), 'dive'),
  field('Post', 'post', sliceOf(() => AuxTask), 'dive'),
  field('Sidecars', 'sidecars', sliceOf(() => SidecarTask), 'dive'),
  field('Mounts', 'mounts', sliceOf(() => Mount), 'dive'),
  field('Networks', 'networks', STRINGS),
  field('Retry', 'retry', ptr(() => Retry)),
  field('Limits', 'limits', ptr(() => Limits)),
  field('Timeout', 'timeout', STRING, 'duration'),
  field('Var', 'var', STRING, 'max=64'),
  field('If', 'if', STRING, 'expr'),
  field('Parallel', 'parallel', ptr(() => Parallel)),
  field('Each', 'each', ptr(() => Each)),
  field('SubJob', 'subjob', ptr(() => SubJob)),
  field('GPUs', 'gpus', STRING),
  field('Tags', 'tags', STRINGS),
  field('Workdir', 'workdir', STRING, 'max=256'),
  field('Priority', 'priority', INT, 'min=0', 'max=9'),
]);

const Defaults: GoStruct = struct('Defaults', [
  field('Retry', 'retry', ptr(() => Retry)),
  field('Limits', 'limits', ptr(() => Limits)),
  field('Timeout', 'timeout', STRING, 'duration'),
  field('Queue', 'queue', STRING, 'queue'),
  field('Priority', 'priority', INT, 'min=0', 'max=9'),
]);

const Permission: GoStruct = struct('Permission', [field('User', 'user', STRING), field('Role', 'role', STRING)]);

const Wait: GoStruct = struct('Wait', [field('Timeout', 'timeout', STRING, 'required', 'duration')]);

const Schedule: GoStruct = struct('Schedule', [field('Cron', 'cron', STRING, 'required', 'cron')]);

const JOB_FIELDS: GoField[] = [
  field('Name', 'name', STRING, 'required'),
  field('Description', 'description', STRING),
  field('Tags', 'tags', STRINGS),
  field('Tasks', 'tasks', sliceOf(() => Task), 'required', 'min=1', 'dive'),
  field('Inputs', 'inputs', MAP),
  field('Secrets', 'secrets', MAP),
  field('Output', 'output', STRING, 'expr'),
  field('Defaults', 'defaults', ptr(() => Defaults)),
  field('Webhooks', 'webhooks', sliceOf(() => Webhook), 'dive'),
  field('Permissions', 'permissions', sliceOf(() => Permission), 'dive'),
  field('AutoDelete', 'autoDelete', ptr(() => AutoDelete)),
];

export const Job: GoStruct = struct('Job', [...JOB_FIELDS, field('Wait', 'wait', ptr(() => Wait))]);

export const ScheduledJob: GoStruct = struct('ScheduledJob', [
  ...JOB_FIELDS,
  field('Schedule', 'schedule', ptr(() => Schedule), 'required'),
]);

export { Mount, Permission };

// ---- the decoded shapes -------------------------------------------------------------------------

export type StringMap = Record<string, string>;

export interface RegistryInput {
  username?: string;
  password?: string;
}

export interface AuxTaskInput {
  name?: string;
  description?: string;
  cmd?: string[];
  entrypoint?: string[];
  run?: string;
  image?: string;
  registry?: RegistryInput;
  env?: StringMap;
  files?: StringMap;
  timeout?: string;
}

export interface SidecarInput extends AuxTaskInput {
  probe?: { path?: string; port?: number; timeout?: string };
}

export interface MountInput {
  type?: string;
  source?: string;
  target?: string;
  opts?: StringMap;
}

export interface WebhookInput {
  url?: string;
  headers?: StringMap;
  event?: string;
  if?: string;
}

export interface TaskInput {
  name?: string;
  description?: string;
  cmd?: string[];
  entrypoint?: string[];
  run?: string;
  image?: string;
  registry?: RegistryInput;
  env?: StringMap;
  files?: StringMap;
  queue?: string;
  pre?: AuxTaskInput[];
  post?: AuxTaskInput[];
  sidecars?: SidecarInput[];
  mounts?: MountInput[];
  networks?: string[];
  retry?: { limit?: number };
  limits?: { cpus?: string; memory?: string };
  timeout?: string;
  var?: string;
  if?: string;
  parallel?: { tasks?: TaskInput[] };
  each?: { var?: string; list?: string; task?: TaskInput; concurrency?: number };
  subjob?: {
    id?: string;
    name?: string;
    description?: string;
    tasks?: TaskInput[];
    inputs?: StringMap;
    secrets?: StringMap;
    autoDelete?: { after?: string };
    output?: string;
    detached?: boolean;
    webhooks?: WebhookInput[];
  };
  gpus?: string;
  tags?: string[];
  workdir?: string;
  priority?: number;
}

export interface JobInput {
  name?: string;
  description?: string;
  tags?: string[];
  tasks?: TaskInput[];
  inputs?: StringMap;
  secrets?: StringMap;
  output?: string;
  defaults?: {
    retry?: { limit?: number };
    limits?: { cpus?: string; memory?: string };
    timeout?: string;
    queue?: string;
    priority?: number;
  };
  webhooks?: WebhookInput[];
  permissions?: Array<{ user?: string; role?: string }>;
  autoDelete?: { after?: string };
}

export interface SubmitInput extends JobInput {
  wait?: { timeout?: string };
}

export interface ScheduledJobInput extends JobInput {
  schedule?: { cron?: string };
}
