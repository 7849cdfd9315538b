/** Executions as bars on one time axis, one lane per node that ran them. */
import type { ExecutionBody } from '../api.js';
import { span } from '../format.js';
import { STATE_COLORS, type State } from '../states.js';

const LANE_H = 22;
const LABEL_W = 140;

export function Timeline({ executions, nodeNames, onOpen }: { executions: ExecutionBody[]; nodeNames: Map<string, string>; onOpen: (id: string) => void }) {
  const ran = executions.filter((execution) => execution.startedAt);
  if (ran.length === 0) return <p className="muted">Nothing has started yet.</p>;
  const now = Date.now();
  const start = Math.min(...ran.map((e) => Date.parse(e.startedAt!)));
  const end = Math.max(...ran.map((e) => (e.completedAt ? Date.parse(e.completedAt) : now)), start + 1);
  const lanes = [...new Set(ran.map((e) => e.nodeId ?? 'none'))].sort();
  const width = 760;
  const scale = (t: number) => LABEL_W + ((t - start) / (end - start)) * (width - LABEL_W - 4);
  return (
    <svg className="timeline" width="100%" viewBox={`0 0 ${width} ${lanes.length * LANE_H + 18}`} role="img" aria-label="executions per node over time">
      {lanes.map((lane, i) => (
        <text key={lane} x="0" y={i * LANE_H + 15} fontSize="11">
          {(nodeNames.get(lane) ?? lane).slice(0, 22)}
        </text>
      ))}
      {ran.map((e) => {
        const lane = lanes.indexOf(e.nodeId ?? 'none');
        const x = scale(Date.parse(e.startedAt!));
        const w = Math.max(2, scale(e.completedAt ? Date.parse(e.completedAt) : now) - x);
        return (
          <rect key={e.id} x={x} y={lane * LANE_H + 4} width={w} height={LANE_H - 8} fill={STATE_COLORS[e.state as State] ?? '#999'} onClick={() => onOpen(e.id)} className="bar">
            <title>{`${e.name}${e.parentId ? ` [${e.idx}]` : ''}: ${e.state}, ${span((e.completedAt ? Date.parse(e.completedAt) : now) - Date.parse(e.startedAt!))}`}</title>
          </rect>
        );
      })}
      <text x={LABEL_W} y={lanes.length * LANE_H + 14} fontSize="10" fill="#6b7785">
        {new Date(start).toLocaleTimeString()}
      </text>
      <text x={width - 4} y={lanes.length * LANE_H + 14} fontSize="10" textAnchor="end" fill="#6b7785">
        {span(end - start)}
      </text>
    </svg>
  );
}
