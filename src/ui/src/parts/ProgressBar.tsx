/** Progress as a bar split by the state of the executions counted so far. */
import { STATE_COLORS, STATES } from '../states.js';

export function ProgressBar({ progress, counts }: { progress: number; counts?: Record<string, number> }) {
  const total = Object.values(counts ?? {}).reduce((sum, n) => sum + n, 0);
  return (
    <div className="progress" role="progressbar" aria-valuenow={Math.round(progress)} aria-valuemin={0} aria-valuemax={100}>
      {total > 0 ? (
        STATES.filter((state) => (counts?.[state] ?? 0) > 0).map((state) => (
          <span key={state} title={`${state}: ${counts?.[state]}`} style={{ width: `${((counts?.[state] ?? 0) / total) * 100}%`, background: STATE_COLORS[state] }} />
        ))
      ) : (
        <span style={{ width: `${progress}%`, background: STATE_COLORS.RUNNING }} />
      )}
      <em>{Math.round(progress)}%</em>
    </div>
  );
}
