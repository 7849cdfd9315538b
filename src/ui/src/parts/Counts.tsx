/** Counts by state as coloured chips; clicking one filters by that state when `onPick` is given. */
import { STATE_COLORS, STATES } from '../states.js';

export function Counts({ counts, onPick, picked }: { counts: Record<string, number>; onPick?: (state: string) => void; picked?: string }) {
  return (
    <div className="counts">
      {STATES.filter((state) => (counts[state] ?? 0) > 0).map((state) => (
        <button
          key={state}
          type="button"
          className={`chip${picked === state ? ' picked' : ''}`}
          data-state={state}
          disabled={!onPick}
          onClick={() => onPick?.(picked === state ? '' : state)}
        >
          <i style={{ background: STATE_COLORS[state] }} />
          {state} <b>{counts[state]}</b>
        </button>
      ))}
    </div>
  );
}
