/**
 * Why work waits, counted: the reasons RUNNABLE executions carry (set by the engine's waiting
 * explainer), most common first. `?` placeholders; PostgreSQL numbers them.
 */
export const WAITING_REASONS = `
  SELECT reason, count(*) AS n FROM executions
  WHERE state = 'RUNNABLE' AND reason IS NOT NULL
  GROUP BY reason ORDER BY n DESC, reason LIMIT ?`;
