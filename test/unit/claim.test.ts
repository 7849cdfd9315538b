import { describe, expect, it } from 'vitest';
import type { ExecutionRow } from '../../src/core/model.js';
import { chooseFair } from '../../src/engine/claim.js';

let seq = 0;
function candidate(owner: string, overrides: Partial<ExecutionRow> = {}): ExecutionRow {
  seq += 1;
  return {
    id: `${owner}-${seq}`, jobId: 'j', taskId: 't', parentId: null, idx: 0, attempt: 1, kind: 'shell', name: 'x',
    state: 'RUNNABLE', owner, queue: 'default', priority: 0, cpus: 1, memoryMb: 256, spec: { name: 'x' },
    nodeId: null, leaseExpiresAt: null, notBefore: null, timeoutMs: null, createdAt: '', scheduledAt: null,
    startedAt: null, completedAt: null, exitCode: null, result: null, error: null, reason: null, progress: 0,
    childCount: 0, childDone: 0, childCreated: null, seq, ...overrides,
  };
}

describe('chooseFair', () => {
  it('takes higher priority first', () => {
    const low = candidate('a');
    const high = candidate('a', { priority: 5 });
    expect(chooseFair([low, high], { cpus: 1, memoryMb: 1000 }, 10)).toEqual([high]);
  });

  it('alternates between owners so a big array cannot starve a single task', () => {
    const bulk = Array.from({ length: 8 }, () => candidate('bulk'));
    const single = candidate('solo');
    const chosen = chooseFair([...bulk, single], { cpus: 2, memoryMb: 10_000 }, 10);
    expect(chosen.map((c) => c.owner)).toEqual(['bulk', 'solo']);
  });

  it('takes the oldest first within an owner and priority', () => {
    const first = candidate('a');
    const second = candidate('a');
    expect(chooseFair([second, first], { cpus: 1, memoryMb: 1000 }, 10)).toEqual([first]);
  });

  it('only takes what fits in free cpus and memory, skipping what does not', () => {
    const big = candidate('a', { cpus: 4 });
    const hungry = candidate('a', { memoryMb: 4096 });
    const small = candidate('a', { cpus: 0.5, memoryMb: 100 });
    expect(chooseFair([big, hungry, small], { cpus: 2, memoryMb: 1000 }, 10)).toEqual([small]);
  });

  it('stops at max', () => {
    const rows = Array.from({ length: 5 }, () => candidate('a', { cpus: 0.1 }));
    expect(chooseFair(rows, { cpus: 10, memoryMb: 100_000 }, 3)).toHaveLength(3);
  });
});
