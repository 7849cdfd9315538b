/**
 * A validated Tork job turned into barge's JobSpec, which is a superset of Tork's input (the same
 * keys with the same meaning), so the conversion drops only what is Tork's alone: `wait` (handled
 * by the submit route) and `schedule` (handled by the scheduled-jobs routes). `image`, `cmd` and
 * `entrypoint` pass through: an image task is a `container` execution in barge, run by a worker
 * with a container runtime, or by the shell runtime under `--image-policy=ignore`.
 *
 * The engine validates the result once more with barge's rules; the few it has beyond Tork's
 * (tork.md §5.2 versus core/spec.ts) answer 400 naming the field.
 */
import type { AuxTaskSpec, JobSpec, TaskSpec, WebhookSpec } from '../../../core/spec-types.js';
import type { AuxTaskInput, JobInput, SidecarInput, TaskInput, WebhookInput } from './input.js';

/** Copies the members that are set, as Go's `omitempty` would have kept them. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0)),
  ) as T;
}

function webhook(input: WebhookInput): WebhookSpec {
  return compact({ url: input.url ?? '', headers: input.headers, event: input.event, if: input.if });
}

function auxTask(input: AuxTaskInput): AuxTaskSpec {
  return compact({
    name: input.name ?? '',
    description: input.description,
    run: input.run,
    image: input.image,
    cmd: input.cmd,
    entrypoint: input.entrypoint,
    env: input.env,
    files: input.files,
    timeout: input.timeout,
    registry: input.registry,
  });
}

/** Sidecars keep their readiness probe, which barge's spec accepts on sidecars. */
function sidecar(input: SidecarInput): AuxTaskSpec {
  return compact({ ...auxTask(input), probe: input.probe }) as AuxTaskSpec;
}

export function taskSpec(input: TaskInput): TaskSpec {
  return compact<TaskSpec>({
    name: input.name ?? '',
    description: input.description,
    cmd: input.cmd,
    entrypoint: input.entrypoint,
    run: input.run,
    image: input.image,
    registry: input.registry,
    env: input.env,
    files: input.files,
    queue: input.queue,
    pre: input.pre?.map(auxTask),
    post: input.post?.map(auxTask),
    sidecars: input.sidecars?.map(sidecar),
    mounts: input.mounts?.map((m) => compact({ type: m.type ?? '', source: m.source, target: m.target, opts: m.opts })),
    networks: input.networks,
    retry: input.retry && { limit: input.retry.limit ?? 0 },
    limits: input.limits && compact({ cpus: input.limits.cpus, memory: input.limits.memory }),
    timeout: input.timeout,
    var: input.var,
    if: input.if,
    parallel: input.parallel && { tasks: (input.parallel.tasks ?? []).map(taskSpec) },
    each: input.each && {
      ...compact({ list: input.each.list ?? '', var: input.each.var, concurrency: input.each.concurrency || undefined }),
      task: taskSpec(input.each.task ?? {}),
    },
    subjob: input.subjob && {
      ...compact({
        id: input.subjob.id,
        name: input.subjob.name ?? '',
        description: input.subjob.description,
        inputs: input.subjob.inputs,
        secrets: input.subjob.secrets,
        autoDelete: input.subjob.autoDelete?.after ? { after: input.subjob.autoDelete.after } : undefined,
        output: input.subjob.output,
        detached: input.subjob.detached || undefined,
        webhooks: input.subjob.webhooks?.map(webhook),
      }),
      tasks: (input.subjob.tasks ?? []).map(taskSpec),
    },
    gpus: input.gpus,
    tags: input.tags,
    workdir: input.workdir,
    priority: input.priority || undefined,
  });
}

export function jobSpec(input: JobInput): JobSpec {
  const defaults = input.defaults;
  return compact<JobSpec>({
    name: input.name ?? '',
    description: input.description,
    tags: input.tags,
    inputs: input.inputs,
    secrets: input.secrets,
    defaults: defaults && compact({
      retry: defaults.retry && { limit: defaults.retry.limit ?? 0 },
      limits: defaults.limits && compact({ cpus: defaults.limits.cpus, memory: defaults.limits.memory }),
      timeout: defaults.timeout,
      queue: defaults.queue,
      priority: defaults.priority || undefined,
    }),
    output: input.output,
    webhooks: input.webhooks?.map(webhook),
    tasks: (input.tasks ?? []).map(taskSpec),
    autoDelete: input.autoDelete?.after ? { after: input.autoDelete.after } : undefined,
    permissions: input.permissions?.map((p) => compact({ user: p.user, role: p.role })),
  });
}
