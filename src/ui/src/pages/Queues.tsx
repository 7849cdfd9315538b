/** Queues: executions waiting and running, and how many ended per minute over the last hour. */
import { getJson, type QueueBody, type Throughput } from '../api.js';
import { usePoll } from '../hooks.js';
import { Sparkline } from '../parts/Sparkline.js';

export function Queues() {
  const queues = usePoll((signal) => getJson<{ items: QueueBody[] }>('/queues', { signal }), 'queues', 2000);
  const throughput = usePoll((signal) => getJson<Throughput>('/stats/throughput', { signal }), 'throughput', 10_000);
  const names = [...new Set([...(queues.data?.items ?? []).map((queue) => queue.name), ...Object.keys(throughput.data?.queues ?? {})])].sort();
  return (
    <section>
      <h1>Queues</h1>
      {queues.error && <p className="error">{queues.error.message}</p>}
      <table className="list queues">
        <thead>
          <tr>
            <th>Queue</th>
            <th>Waiting</th>
            <th>Running</th>
            <th>Finished, last hour</th>
            <th>Per minute</th>
          </tr>
        </thead>
        <tbody>
          {names.map((name) => {
            const queue = queues.data?.items.find((candidate) => candidate.name === name);
            const series = throughput.data?.queues[name] ?? [];
            return (
              <tr key={name} data-queue={name}>
                <td>{name}</td>
                <td>{queue?.runnable ?? 0}</td>
                <td>{queue?.running ?? 0}</td>
                <td>{series.reduce((sum, n) => sum + n, 0)}</td>
                <td>{series.length > 0 && <Sparkline values={series} label={`finished in ${name} per minute`} />}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
