import { STATE_COLORS, type State } from '../states.js';

export function StateBadge({ state }: { state: string }) {
  const color = STATE_COLORS[state as State] ?? '#999';
  return (
    <span className="badge" data-state={state} style={{ borderColor: color, color: state === 'PENDING' ? '#56606b' : color }}>
      {state}
    </span>
  );
}
