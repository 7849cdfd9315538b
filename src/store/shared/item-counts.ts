/**
 * Counts of a job's items by state: what a person counts in a job, not what the engine ran. An
 * item is a slot — a top-level task, or one element of an `each` or `parallel` — and it counts
 * once, in the state of its latest attempt; retries and rescued attempts are not counted again,
 * and the items under an earlier attempt of a composite (a restarted job's first array) are not
 * counted at all. Composite executions (`each`, `parallel`, `subjob`) only hold items and are left
 * out. Both dialects run this text; only how the job ids are bound differs.
 *
 * Cost: the job's top-level rows (the executions_top_level index), then each live composite's
 * children by executions_by_parent, each with one index probe for a later attempt.
 */
export function itemCountsSql(jobIdsIn: string): string {
  return `
  WITH RECURSIVE live(id, job_id, state, kind) AS (
    SELECT e.id, e.job_id, e.state, e.kind FROM executions e
    WHERE e.job_id ${jobIdsIn} AND e.parent_id IS NULL
      AND NOT EXISTS (SELECT 1 FROM executions later WHERE later.task_id = e.task_id
        AND later.parent_id IS NULL AND later.attempt > e.attempt)
    UNION ALL
    SELECT c.id, c.job_id, c.state, c.kind FROM live p JOIN executions c ON c.parent_id = p.id
    WHERE p.kind IN ('each', 'parallel')
      AND NOT EXISTS (SELECT 1 FROM executions later WHERE later.parent_id = c.parent_id
        AND later.idx = c.idx AND later.attempt > c.attempt)
  )
  SELECT job_id, state, count(*) AS n FROM live
  WHERE kind NOT IN ('each', 'parallel', 'subjob') GROUP BY job_id, state`;
}
