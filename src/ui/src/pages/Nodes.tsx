/** API servers and workers: capacity and use, heartbeats, runtimes and isolation, UP or DOWN. */
import { getJson, type NodeBody } from '../api.js';
import { usePoll } from '../hooks.js';
import { age, duration } from '../format.js';

export function Nodes() {
  const nodes = usePoll((signal) => getJson<{ items: NodeBody[] }>('/nodes', { signal }), 'nodes', 2000);
  return (
    <section>
      <h1>Nodes</h1>
      {nodes.error && <p className="error">{nodes.error.message}</p>}
      <table className="list nodes">
        <thead>
          <tr>
            <th>Node</th>
            <th>Status</th>
            <th>Role</th>
            <th>CPUs used</th>
            <th>Memory used</th>
            <th>CPU %</th>
            <th>Queues</th>
            <th>Heartbeat</th>
            <th>Up for</th>
            <th>Runtimes and isolation</th>
          </tr>
        </thead>
        <tbody>
          {(nodes.data?.items ?? []).map((node) => (
            <tr key={node.id} data-node={node.id} data-status={node.status}>
              <td>
                {node.name}
                <div className="muted">
                  {node.hostname} · v{node.version}
                </div>
              </td>
              <td>
                <span className={`status ${node.status}`}>{node.status}</span>
              </td>
              <td>{node.role}</td>
              <td>
                <Meter used={node.usedCpus} total={node.cpus} />
              </td>
              <td>
                <Meter used={node.usedMemoryMb} total={node.memoryMb} unit="MB" />
              </td>
              <td>{Math.round(node.cpuPercent)}</td>
              <td>{node.queues.join(', ')}</td>
              <td title={node.lastHeartbeatAt}>{age(node.lastHeartbeatAt)}</td>
              <td>{duration(node.startedAt, null)}</td>
              <td className="small">
                {Object.entries(node.info)
                  .filter(([key]) => key !== 'taskCount')
                  .map(([key, value]) => (
                    <div key={key}>
                      <b>{key}</b> {typeof value === 'object' ? JSON.stringify(value) : String(value)}
                    </div>
                  ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Meter({ used, total, unit = '' }: { used: number; total: number; unit?: string }) {
  const share = total > 0 ? Math.min(100, (used / total) * 100) : 0;
  return (
    <div className="meter" title={`${used} of ${total} ${unit}`}>
      <span style={{ width: `${share}%` }} />
      <em>
        {Math.round(used * 10) / 10}/{total} {unit}
      </em>
    </div>
  );
}
