/**
 * A node's cpuPercent is the machine's busy CPU share since the last heartbeat (as Tork's
 * gopsutil reports it), not the load average.
 */
import { describe, expect, it } from 'vitest';
import { CpuUsage } from '../../src/worker/cpu-usage.js';

describe('CpuUsage', () => {
  it('reports the busy share of CPU time since the previous sample, within 0..100', () => {
    const usage = new CpuUsage();
    // Keep one CPU busy until the machine's counters have moved (they tick every 10 ms).
    const start = process.cpuUsage();
    while (process.cpuUsage(start).user < 200_000) {
      // spin
    }
    const busy = usage.sample();
    expect(busy).toBeGreaterThan(0);
    expect(busy).toBeLessThanOrEqual(100);
  });
});
