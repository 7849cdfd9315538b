/**
 * The job spec: a superset of Tork's input job (`input/job.go`, `input/task.go`), plus barge's own
 * `lua`, `args` and `needs`. Strings that hold `{{ … }}` are evaluated where Tork evaluates them
 * (see engine/expand.ts); `run` and `lua` are never templated.
 */

export interface RetrySpec {
  /** 1..10 */
  limit: number;
}

export interface LimitsSpec {
  /** A number of cpus; Tork writes strings such as ".5" or "2". */
  cpus?: string | number;
  /** Megabytes as a number, or a size string such as "512m", "1g", "10MB". */
  memory?: string | number;
}

export interface WebhookSpec {
  url: string;
  headers?: Record<string, string>;
  /** job.StateChange (default), job.Progress, task.StateChange, task.Progress */
  event?: string;
  if?: string;
}

export interface EachSpec {
  /** An expression that evaluates to a list. */
  list: string;
  /** Name of the item variable; default `item`. */
  var?: string;
  /** How many items run at once; 0 or absent = all. */
  concurrency?: number;
  /**
   * barge: false lets the other items run on when one fails or is cancelled, as independent jobs
   * do (SlideRule's fan-out); the each then fails once all have settled. (Default: true, Tork's
   * rule: the first failure fails the each and cancels the rest)
   */
  failFast?: boolean;
  task: TaskSpec;
}

export interface ParallelSpec {
  tasks: TaskSpec[];
}

export interface SubjobSpec {
  id?: string;
  name: string;
  description?: string;
  tasks: TaskSpec[];
  inputs?: Record<string, string>;
  secrets?: Record<string, string>;
  autoDelete?: { after: string };
  output?: string;
  detached?: boolean;
  webhooks?: WebhookSpec[];
}

export interface MountSpec {
  type: string;
  source?: string;
  target?: string;
  opts?: Record<string, string>;
}

/** pre/post tasks run in the same work folder as the main script, before and after it. */
export interface AuxTaskSpec {
  name: string;
  description?: string;
  run?: string;
  image?: string;
  cmd?: string[];
  entrypoint?: string[];
  env?: Record<string, string>;
  files?: Record<string, string>;
  timeout?: string;
  registry?: { username?: string; password?: string };
}

export interface TaskSpec {
  name: string;
  description?: string;
  /** A shell script, run with `bash -c`. Never templated. */
  run?: string;
  /** barge: a Lua 5.4 script, run instead of `run`. Never templated. */
  lua?: string;
  /** barge: positional arguments, `$1…` for `run`, `arg[2]…` for `lua`. Templated. */
  args?: string[];
  image?: string;
  cmd?: string[];
  entrypoint?: string[];
  registry?: { username?: string; password?: string };
  env?: Record<string, string>;
  files?: Record<string, string>;
  workdir?: string;
  /** A Go duration such as "30s" or "1h30m". */
  timeout?: string;
  retry?: RetrySpec;
  limits?: LimitsSpec;
  queue?: string;
  /** 0..9, higher runs first. */
  priority?: number;
  var?: string;
  if?: string;
  pre?: AuxTaskSpec[];
  post?: AuxTaskSpec[];
  sidecars?: AuxTaskSpec[];
  mounts?: MountSpec[];
  networks?: string[];
  gpus?: string;
  tags?: string[];
  parallel?: ParallelSpec;
  each?: EachSpec;
  subjob?: SubjobSpec;
  /** barge: names of tasks this one waits for; any `needs` in a job turns its task list into a graph. */
  needs?: string[];
  /** barge: the task may reach the network inside the sandbox. */
  network?: boolean;
}

export interface JobDefaultsSpec {
  retry?: RetrySpec;
  limits?: LimitsSpec;
  timeout?: string;
  queue?: string;
  priority?: number;
}

export interface JobSpec {
  name: string;
  description?: string;
  tags?: string[];
  inputs?: Record<string, string>;
  secrets?: Record<string, string>;
  defaults?: JobDefaultsSpec;
  output?: string;
  webhooks?: WebhookSpec[];
  /** barge: default queue for the job's tasks. */
  queue?: string;
  /** barge: default priority for the job's tasks, 0..9. */
  priority?: number;
  tasks: TaskSpec[];
  autoDelete?: { after: string };
  permissions?: Array<{ user?: string; role?: string }>;
  /** barge: srtslurm status reporting (engine/reports.ts). */
  reporting?: ReportingSpec;
}

/** As srtctl's `reporting` block: the job POSTs itself to each collector at submit and PUTs each stage change. */
export interface ReportingSpec {
  status?: {
    endpoint?: string;
    endpoints?: string[];
    /** Which of the job's secrets holds the collectors' bearer token. */
    token_secret?: string;
  };
}
