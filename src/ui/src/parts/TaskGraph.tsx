/**
 * A `needs` graph drawn in layers: each task sits one column right of the deepest task it needs,
 * edges run left to right, nodes are coloured by state and open the task's first execution.
 */
import type { JobBody } from '../api.js';
import { STATE_COLORS, type State } from '../states.js';

type Task = NonNullable<JobBody['tasks']>[number];

const NODE_W = 150;
const NODE_H = 34;
const GAP_X = 60;
const GAP_Y = 18;

export function hasGraph(tasks: Task[] | undefined): boolean {
  return (tasks ?? []).some((task) => task.needs.length > 0);
}

export function TaskGraph({ tasks, onOpen }: { tasks: Task[]; onOpen: (task: Task) => void }) {
  const byId = new Map(tasks.map((task) => [task.id, task]));
  const depth = new Map<string, number>();
  const depthOf = (task: Task, seen: Set<string>): number => {
    const known = depth.get(task.id);
    if (known !== undefined) return known;
    if (seen.has(task.id)) return 0; // a cycle cannot be submitted; draw rather than hang
    seen.add(task.id);
    const needed = task.needs.map((id) => byId.get(id)).filter((t): t is Task => t !== undefined);
    const value = needed.length === 0 ? 0 : 1 + Math.max(...needed.map((t) => depthOf(t, seen)));
    depth.set(task.id, value);
    return value;
  };
  const columns: Task[][] = [];
  for (const task of [...tasks].sort((a, b) => a.position - b.position)) {
    const d = depthOf(task, new Set());
    (columns[d] ??= []).push(task);
  }
  const place = new Map<string, { x: number; y: number }>();
  columns.forEach((column, c) => column.forEach((task, r) => place.set(task.id, { x: c * (NODE_W + GAP_X), y: r * (NODE_H + GAP_Y) })));
  const width = columns.length * (NODE_W + GAP_X) - GAP_X + 2;
  const height = Math.max(...columns.map((column) => column.length)) * (NODE_H + GAP_Y) - GAP_Y + 2;

  return (
    <svg className="graph" width={width} height={height} viewBox={`-1 -1 ${width} ${height}`} role="img" aria-label="task graph">
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" fill="#8795a1" />
        </marker>
      </defs>
      {tasks.flatMap((task) =>
        task.needs.map((need) => {
          const from = place.get(need);
          const to = place.get(task.id);
          if (!from || !to) return null;
          const x1 = from.x + NODE_W;
          const y1 = from.y + NODE_H / 2;
          const x2 = to.x;
          const y2 = to.y + NODE_H / 2;
          const mid = (x1 + x2) / 2;
          return <path key={`${need}-${task.id}`} d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`} fill="none" stroke="#8795a1" markerEnd="url(#arrow)" />;
        }),
      )}
      {tasks.map((task) => {
        const at = place.get(task.id)!;
        const color = STATE_COLORS[task.state as State] ?? '#999';
        return (
          <g key={task.id} className="graph-node" data-task={task.name} data-state={task.state} transform={`translate(${at.x},${at.y})`} onClick={() => onOpen(task)} role="button" tabIndex={0} onKeyDown={(event) => event.key === 'Enter' && onOpen(task)}>
            <title>{`${task.name}: ${task.state}`}</title>
            <rect width={NODE_W} height={NODE_H} rx="6" fill="#fff" stroke={color} strokeWidth="2" />
            <rect width="8" height={NODE_H} rx="3" fill={color} />
            <text x="16" y={NODE_H / 2 + 4} fontSize="13">
              {task.name.length > 18 ? `${task.name.slice(0, 17)}…` : task.name}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
