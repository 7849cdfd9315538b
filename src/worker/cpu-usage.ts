/**
 * The share of the machine's CPU time spent busy since the previous sample, in percent: what a
 * node reports as `cpuPercent`, and what Tork's workers report (gopsutil `cpu.Percent(0, false)`
 * over all CPUs). Unlike the load average it cannot exceed 100 on a host whose runnable queue is
 * long but whose CPUs idle (waiting on disk or network).
 */
import { cpus } from 'node:os';

interface Times {
  busy: number;
  total: number;
}

function machineTimes(): Times {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

export class CpuUsage {
  private last = machineTimes();

  /** Busy percent (0..100, two decimals) since the previous call, or since construction. */
  sample(): number {
    const now = machineTimes();
    const total = now.total - this.last.total;
    const busy = now.busy - this.last.busy;
    this.last = now;
    if (total <= 0) return 0;
    return Math.round(Math.min(100, Math.max(0, (busy / total) * 100)) * 100) / 100;
  }
}
