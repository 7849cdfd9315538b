/**
 * The wire shapes of /v1 as TypeBox schemas: Fastify validates requests and serializes answers
 * with them, and @fastify/swagger turns them into /v1/openapi.json. A response schema is also a
 * guard: a field it does not list (say a job's `secrets`) can never reach a client.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { STATES } from '../../core/states.js';
import { ID_OR_PREFIX_PATTERN, ID_PATTERN } from '../errors.js';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Timestamp = Type.String({ format: 'date-time' });
const JsonObject = Type.Object({}, { additionalProperties: true });

export const Id = Type.String({ pattern: ID_PATTERN, description: '32 lowercase hex characters' });
export const StateName = Type.Unsafe<(typeof STATES)[number]>({ type: 'string', enum: [...STATES] });
const Counts = Type.Record(Type.String(), Type.Integer(), {
  description: 'items by state: each task and array element once, in the state of its latest attempt',
});
const Attempts = Type.Record(Type.String(), Type.Integer(), {
  description: 'every execution by state, retries, earlier runs and composites included (single-job answers)',
});

export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'a stable BARGE_E_* code' }),
    message: Type.String(),
    details: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  }
);

export const TaskSummary = Type.Object({
  id: Id,
  name: Type.String(),
  position: Type.Integer(),
  state: StateName,
  needs: Type.Array(Type.String(), { description: 'ids of the tasks this one waits for' }),
});

export const Job = Type.Object(
  {
    id: Id,
    name: Type.String(),
    description: Nullable(Type.String()),
    owner: Type.String(),
    origin: Type.String({ description: 'the API that created it: v1, tork, sliderule, batches, sc, srtslurm' }),
    state: StateName,
    progress: Type.Number({ minimum: 0, maximum: 100 }),
    tags: Type.Array(Type.String()),
    queue: Type.String(),
    priority: Type.Integer(),
    inputs: Type.Record(Type.String(), Type.String()),
    metadata: JsonObject,
    result: Nullable(Type.String()),
    error: Nullable(Type.String()),
    parentExecutionId: Nullable(Type.String()),
    taskCount: Type.Integer(),
    createdAt: Timestamp,
    startedAt: Nullable(Timestamp),
    completedAt: Nullable(Timestamp),
    failedAt: Nullable(Timestamp),
    counts: Counts,
    attempts: Type.Optional(Attempts),
    tasks: Type.Optional(Type.Array(TaskSummary, { description: 'on single-job answers only' })),
    spec: Type.Optional(
      Type.Object({}, { additionalProperties: true, description: 'the submitted spec, secret values redacted' }),
    ),
  }
);

export const Execution = Type.Object(
  {
    id: Id,
    jobId: Id,
    taskId: Id,
    parentId: Nullable(Id),
    idx: Type.Integer(),
    attempt: Type.Integer(),
    kind: Type.String({ description: 'shell, lua, container, parallel, each or subjob' }),
    name: Type.String(),
    owner: Type.String(),
    state: StateName,
    queue: Type.String(),
    priority: Type.Integer(),
    cpus: Type.Number(),
    memoryMb: Type.Number(),
    nodeId: Nullable(Type.String()),
    createdAt: Timestamp,
    scheduledAt: Nullable(Timestamp),
    startedAt: Nullable(Timestamp),
    completedAt: Nullable(Timestamp),
    exitCode: Nullable(Type.Integer()),
    result: Nullable(Type.String()),
    error: Nullable(Type.String()),
    reason: Nullable(Type.String()),
    progress: Type.Number(),
    childCount: Type.Integer(),
    childDone: Type.Integer(),
  }
);

export const LogLine = Type.Object(
  {
    number: Type.Integer({ minimum: 1 }),
    stream: Type.String({ description: 'stdout, stderr or system' }),
    at: Timestamp,
    line: Type.String(),
  }
);

export const Event = Type.Object(
  {
    id: Type.Integer(),
    jobId: Id,
    executionId: Nullable(Type.String()),
    at: Timestamp,
    kind: Type.String({ description: 'job.state, execution.state, status, …' }),
    state: Nullable(Type.String()),
    stage: Nullable(Type.String()),
    message: Nullable(Type.String()),
    data: Nullable(JsonObject),
  }
);

export const Node = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    role: Type.String({ description: 'server, worker or standalone' }),
    hostname: Type.String(),
    version: Type.String(),
    startedAt: Timestamp,
    lastHeartbeatAt: Timestamp,
    cpuPercent: Type.Number(),
    cpus: Type.Number(),
    memoryMb: Type.Number(),
    usedCpus: Type.Number(),
    usedMemoryMb: Type.Number(),
    queues: Type.Array(Type.String()),
    status: Type.String({ enum: ['UP', 'DOWN'] }),
    info: JsonObject,
  }
);

export const Queue = Type.Object({ name: Type.String(), runnable: Type.Integer(), running: Type.Integer() });

export const Health = Type.Object({
  status: Type.String({ enum: ['ok', 'down'] }),
  version: Type.String(),
  store: Type.String({ enum: ['sqlite', 'postgres'] }),
});

// ---- requests ------------------------------------------------------------------------------

/** In a path, an id may be shortened to a unique prefix (as git's hashes): the route resolves it. */
export const IdOrPrefix = Type.String({
  pattern: ID_OR_PREFIX_PATTERN,
  description: 'an id, or a unique prefix of at least 6 of its characters (git-style)',
});
export const IdParams = Type.Object({ id: IdOrPrefix });
export type IdParams = Static<typeof IdParams>;

/** A yes/no query parameter: `1`/`true` or `0`/`false` (Ajv would coerce only true/false). */
const FLAG_VALUES = ['1', 'true', '0', 'false'] as const;
const Flag = (description: string) => Type.Unsafe<(typeof FLAG_VALUES)[number]>({ type: 'string', enum: [...FLAG_VALUES], description });

export function isOn(flag: (typeof FLAG_VALUES)[number] | undefined): boolean {
  return flag === '1' || flag === 'true';
}

const Limit = (fallback: number) => Type.Integer({ minimum: 1, maximum: 1000, default: fallback });
const Cursor = Type.String({ maxLength: 512, description: 'nextCursor of the previous page' });
const StateList = Type.String({ maxLength: 200, description: 'comma-separated states, e.g. RUNNING,FAILED' });

export const SubmitQuery = Type.Object({
  wait: Type.Optional(
    Type.String({ maxLength: 32, description: 'a duration such as 30s: answer when the job ends or this time passes' }),
  ),
});
export type SubmitQuery = Static<typeof SubmitQuery>;

export const JobListQuery = Type.Object({
  state: Type.Optional(StateList),
  owner: Type.Optional(Type.String({ maxLength: 200, description: "admins only, unless it is the caller's own name" })),
  tag: Type.Optional(Type.String({ maxLength: 500, description: 'comma-separated: jobs carrying any of these tags' })),
  queue: Type.Optional(Type.String({ maxLength: 200 })),
  origin: Type.Optional(Type.String({ maxLength: 50, description: 'the API that created the jobs: v1, tork, sliderule, …' })),
  createdAfter: Type.Optional(Type.String({ format: 'date-time' })),
  createdBefore: Type.Optional(Type.String({ format: 'date-time' })),
  q: Type.Optional(Type.String({ maxLength: 500, description: 'full-text search over name, description, tags, state' })),
  subjobs: Type.Optional(Flag('include sub-jobs (jobs run by a subjob task); default false')),
  limit: Limit(50),
  cursor: Type.Optional(Cursor),
});
export type JobListQuery = Static<typeof JobListQuery>;

/** The list's filters without its paging: what GET /v1/jobs/counts counts. */
export const JobCountQuery = Type.Omit(JobListQuery, ['limit', 'cursor']);
export type JobCountQuery = Static<typeof JobCountQuery>;

export const ExecutionListQuery = Type.Object({
  state: Type.Optional(StateList),
  parentId: Type.Optional(Type.String({ pattern: ID_PATTERN, description: 'only the children of this composite' })),
  taskId: Type.Optional(Type.String({ pattern: ID_PATTERN, description: 'only the executions of this task (its attempts)' })),
  topLevel: Type.Optional(Flag("only the job's own steps, not the children of composites (each, parallel)")),
  limit: Limit(100),
  cursor: Type.Optional(Cursor),
});
export type ExecutionListQuery = Static<typeof ExecutionListQuery>;

export const EventListQuery = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0, description: 'only events with a greater id' })),
  limit: Limit(100),
});
export type EventListQuery = Static<typeof EventListQuery>;

export const LogQuery = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0, description: 'only lines with a greater number' })),
  limit: Limit(1000),
  follow: Type.Optional(Flag('stream Server-Sent Events until the execution ends')),
});
export type LogQuery = Static<typeof LogQuery>;

// ---- answers -------------------------------------------------------------------------------

export const JobPage = Type.Object({ items: Type.Array(Job), nextCursor: Nullable(Type.String()) });
export const ExecutionPage = Type.Object({ items: Type.Array(Execution), nextCursor: Nullable(Type.String()) });
export const EventList = Type.Object({ items: Type.Array(Event) });
export const LogPage = Type.Object({
  items: Type.Array(LogLine),
  next: Type.Integer({ description: 'pass as `after` for the following page' }),
  done: Type.Boolean({ description: 'the execution is final and this page reached the end of its log' }),
});
export const JobCounts = Type.Object({
  total: Type.Integer(),
  counts: Type.Record(Type.String(), Type.Integer(), { description: 'jobs by state' }),
});
export const Output = Type.Object({
  path: Type.String({ description: "relative to the execution's outputs/ folder" }),
  size: Type.Integer(),
  createdAt: Timestamp,
});
export const OutputList = Type.Object({ items: Type.Array(Output) });
export const ItemStates = Type.Object({
  count: Type.Integer({ description: "the composite's items (childCount)" }),
  states: Type.String({
    description:
      "one character per item, in item order: the digit of the latest attempt's state in " +
      `${STATES.map((state, i) => `${i} ${state}`).join(', ')}; \`-\` for an item not made yet`,
  }),
});
export const ItemParams = Type.Object({ id: IdOrPrefix, idx: Type.Integer({ minimum: 0 }) });
export type ItemParams = Static<typeof ItemParams>;
export const Throughput = Type.Object({
  minutes: Type.Integer(),
  since: Timestamp,
  total: Type.Array(Type.Integer(), { description: 'executions that ended per minute, oldest minute first' }),
  queues: Type.Record(Type.String(), Type.Array(Type.Integer()), { description: 'the same, per queue' }),
});
/** Why RUNNABLE work waits (a reason the engine set, e.g. too big for every worker), most common first. */
export const WaitingReason = Type.Object({ reason: Type.String(), count: Type.Integer() });
export const NodeList = Type.Object({ items: Type.Array(Node), waiting: Type.Array(WaitingReason) });
export const QueueList = Type.Object({ items: Type.Array(Queue) });

/** The error answers every route documents, next to its own success answers. */
export const errorResponses = {
  '4xx': ErrorBody,
  '5xx': ErrorBody,
};

export type JobBody = Static<typeof Job>;
export type ExecutionBody = Static<typeof Execution>;
export type LogLineBody = Static<typeof LogLine>;
export type EventBody = Static<typeof Event>;
export type NodeBody = Static<typeof Node>;
