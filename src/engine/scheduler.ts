/**
 * Cron schedules: a schedule holds a job spec and a 5-field cron expression; each firing submits an
 * ordinary job. Any number of servers may run a scheduler: a firing happens in the transaction that
 * moves the schedule's `nextAt` forward with a compare-and-set, so exactly one server fires each tick.
 */
import { Periodic } from './periodic.js';
import type { JobRow, JobSpec, ScheduleRow } from '../core/model.js';
import { ConflictError, NotFoundError, TooManyError, ValidationError } from '../core/errors.js';
import { CronError, nextFiring, parseCron } from '../core/cron.js';
import { validateJobSpec } from '../core/spec.js';
import type { Engine } from './engine.js';
import { inFlow } from './flow.js';
import { newId } from './ids.js';

export class Scheduler {
  private readonly loop: Periodic;

  constructor(
    private readonly engine: Engine,
    intervalMs = 1_000,
  ) {
    this.loop = new Periodic(() => this.tick(), intervalMs);
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }


  /** Validates the spec and the cron expression and stores an ACTIVE schedule. */
  async create(input: { spec: unknown; cron: string; owner: string; origin: string }): Promise<ScheduleRow> {
    const spec = validateJobSpec(input.spec);
    let nextAt: string;
    try {
      nextAt = nextFiring(parseCron(input.cron), this.engine.clock.now()).toISOString();
    } catch (error) {
      if (error instanceof CronError) throw new ValidationError([{ path: 'schedule.cron', message: error.message }]);
      throw error;
    }
    const schedule: ScheduleRow = {
      id: newId(),
      name: spec.name,
      description: spec.description ?? null,
      cron: input.cron,
      state: 'ACTIVE',
      spec,
      owner: input.owner,
      origin: input.origin,
      tags: spec.tags ?? [],
      createdAt: this.engine.clock.now().toISOString(),
      nextAt,
      lastFiredAt: null,
    };
    await this.engine.store.scheduleInsert(schedule);
    return schedule;
  }

  async get(id: string): Promise<ScheduleRow> {
    const schedule = await this.engine.store.scheduleGet(id);
    if (!schedule) throw new NotFoundError('schedule', id);
    return schedule;
  }

  async pause(id: string): Promise<void> {
    await this.get(id);
    if (!(await this.engine.store.scheduleSetState({ id, from: 'ACTIVE', to: 'PAUSED' }))) {
      throw new ConflictError('scheduled job is not active');
    }
  }

  /** Resuming recomputes the next firing from now: missed ticks while paused are not replayed. */
  async resume(id: string): Promise<void> {
    const schedule = await this.get(id);
    if (!(await this.engine.store.scheduleSetState({ id, from: 'PAUSED', to: 'ACTIVE' }))) {
      throw new ConflictError('scheduled job is not paused');
    }
    const nextAt = nextFiring(parseCron(schedule.cron), this.engine.clock.now()).toISOString();
    await this.engine.store.scheduleAdvance({ id, expectedNextAt: schedule.nextAt, nextAt, firedAt: schedule.lastFiredAt ?? schedule.createdAt });
  }

  async remove(id: string): Promise<void> {
    if (!(await this.engine.store.scheduleDelete(id))) throw new NotFoundError('schedule', id);
  }

  /**
   * One firing, in the transaction that advances the schedule. Over the owner's queued quota the
   * firing waits (the transaction rolls back, `nextAt` stays) and is tried again on the next tick,
   * as queued work waits rather than fails.
   */
  private async fire(schedule: ScheduleRow, now: Date): Promise<JobRow | null> {
    const { quotas } = this.engine;
    try {
      return await inFlow(this.engine.store, this.engine.flowSettings(), async (flow) => {
        const nextAt = nextFiring(parseCron(schedule.cron), now).toISOString();
        const won = await flow.tx.scheduleAdvance({ id: schedule.id, expectedNextAt: schedule.nextAt, nextAt, firedAt: now.toISOString() });
        if (!won) return null;
        const job = await flow.createJob({
          spec: schedule.spec as JobSpec,
          owner: schedule.owner,
          origin: schedule.origin,
          parentExecutionId: null,
          metadata: { schedule: { id: schedule.id, cron: schedule.cron } },
        });
        await quotas.checkQueuedIn(flow, schedule.owner);
        return job;
      });
    } catch (error) {
      if (error instanceof TooManyError) return null;
      throw error;
    }
  }

  /** Fires every due schedule once; returns the jobs it submitted. Public so tests can drive it. */
  async tick(): Promise<JobRow[]> {
    const { store, clock } = this.engine;
    const now = clock.now();
    const due = await store.scheduleListDue({ now: now.toISOString(), limit: 100 });
    const fired: JobRow[] = [];
    for (const schedule of due) {
      const job = await this.fire(schedule, now);
      if (job) fired.push(job);
    }
    if (fired.length > 0) await store.notify('work').catch(() => undefined);
    return fired;
  }
}
