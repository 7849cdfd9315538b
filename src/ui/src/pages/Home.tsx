/** The front page: jobs by state, work waiting and running, and throughput over the last hour. */
import { getJson, type JobCounts, type NodeBody, type QueueBody, type Throughput } from '../api.js';
import { usePoll } from '../hooks.js';
import { href } from '../router.js';
import { Counts } from '../parts/Counts.js';
import { Sparkline } from '../parts/Sparkline.js';

export function Home() {
  const counts = usePoll((signal) => getJson<JobCounts>('/jobs/counts', { signal }), 'counts', 3000);
  const queues = usePoll((signal) => getJson<{ items: QueueBody[] }>('/queues', { signal }), 'queues', 3000);
  const nodes = usePoll((signal) => getJson<{ items: NodeBody[] }>('/nodes', { signal }), 'nodes', 5000);
  const throughput = usePoll((signal) => getJson<Throughput>('/stats/throughput', { signal }), 'throughput', 10_000);
  const waiting = (queues.data?.items ?? []).reduce((sum, queue) => sum + queue.runnable, 0);
  const running = (queues.data?.items ?? []).reduce((sum, queue) => sum + queue.running, 0);
  const up = (nodes.data?.items ?? []).filter((node) => node.status === 'UP').length;
  const lastHour = (throughput.data?.total ?? []).reduce((sum, n) => sum + n, 0);

  return (
    <section className="home">
      <h1>Overview</h1>
      <div className="cards">
        <a className="card" href={href('/jobs')}>
          <b data-total="jobs">{counts.data?.total ?? '…'}</b> jobs
        </a>
        <a className="card" href={href('/queues')}>
          <b>{waiting}</b> executions waiting
        </a>
        <a className="card" href={href('/queues')}>
          <b>{running}</b> running
        </a>
        <a className="card" href={href('/nodes')}>
          <b>
            {up}/{nodes.data?.items.length ?? 0}
          </b>{' '}
          nodes up
        </a>
        <div className="card wide">
          <b data-total="finished-last-hour">{lastHour}</b> executions finished in the last hour
          {throughput.data && <Sparkline values={throughput.data.total} width={220} height={40} label="executions finished per minute" />}
        </div>
      </div>
      <h2>Jobs by state</h2>
      {counts.data && <Counts counts={counts.data.counts} onPick={(state) => (window.location.hash = href('/jobs', { state }).slice(1))} />}
      {counts.error && <p className="error">{counts.error.message}</p>}
    </section>
  );
}
