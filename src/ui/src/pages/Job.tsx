/**
 * One job, live: state, progress and counts; its tasks as a list and, for `needs` graphs, as a
 * drawn graph; each array as a grid of items; a timeline of executions per node; its events and
 * result; cancel, restart, delete (each confirmed), duplicate and the results download.
 */
import { useState } from 'react';
import {
  authHeaders,
  getJson,
  query,
  send,
  type EventBody,
  type ExecutionBody,
  type JobBody,
  type NodeBody,
  type Page,
} from '../api.js';
import { usePoll } from '../hooks.js';
import { clock, duration, shortId } from '../format.js';
import { href, navigate } from '../router.js';
import { isFinal, type State } from '../states.js';
import { ConfirmButton } from '../parts/Confirm.js';
import { Counts } from '../parts/Counts.js';
import { ArrayItems } from '../parts/ArrayItems.js';
import { ProgressBar } from '../parts/ProgressBar.js';
import { Outcome } from '../parts/Outcome.js';
import { StateBadge } from '../parts/StateBadge.js';
import { hasGraph, TaskGraph } from '../parts/TaskGraph.js';
import { Timeline } from '../parts/Timeline.js';

const LIVE_MS = 1000;
const IDLE_MS = 10_000;

export function JobPage({ id }: { id: string }) {
  const job = usePoll((signal) => getJson<JobBody>(`/jobs/${id}`, { signal }), id, LIVE_MS);
  const live = job.data ? !isFinal(job.data.state as State) : true;
  const every = live ? LIVE_MS * 2 : IDLE_MS;
  const steps = usePoll((signal) => getJson<Page<ExecutionBody>>(`/jobs/${id}/executions${query({ topLevel: 1, limit: 1000 })}`, { signal }), id, every);
  const runs = usePoll((signal) => getJson<Page<ExecutionBody>>(`/jobs/${id}/executions${query({ limit: 1000 })}`, { signal }), id, every);
  const events = usePoll((signal) => getJson<{ items: EventBody[] }>(`/jobs/${id}/events${query({ limit: 1000 })}`, { signal }), id, every);
  const nodes = usePoll((signal) => getJson<{ items: NodeBody[] }>('/nodes', { signal }), 'nodes', 30_000);
  const [error, setError] = useState<string>();

  if (job.error) return <p className="error pad">{job.error.message}</p>;
  if (!job.data) return <p className="muted pad">Loading…</p>;
  const data = job.data;
  const nodeNames = new Map((nodes.data?.items ?? []).map((node) => [node.id, node.name]));
  const arrays = (steps.data?.items ?? []).filter((execution) => execution.childCount > 0);
  const act = (verb: 'cancel' | 'restart') => async () => {
    await send('POST', `/jobs/${data.id}/${verb}`);
    job.reload();
    steps.reload();
  };

  return (
    <section className="job">
      <div className="row">
        <h1>{data.name || shortId(data.id)}</h1>
        <StateBadge state={data.state} />
      </div>
      <p className="muted mono">{data.id}</p>
      {data.description && <p>{data.description}</p>}
      <div className="actions">
        <ConfirmButton label="Cancel" question={`Cancel job ${data.name || data.id}?`} onConfirm={act('cancel')} disabled={!live} danger />
        <ConfirmButton
          label="Restart"
          question={`Run the unfinished tasks of ${data.name || data.id} again?`}
          onConfirm={act('restart')}
          disabled={data.state !== 'FAILED' && data.state !== 'CANCELLED'}
        />
        <ConfirmButton
          label="Delete"
          question={`Delete ${data.name || data.id} with its logs, events and outputs? This cannot be undone.`}
          onConfirm={async () => {
            await send('DELETE', `/jobs/${data.id}`);
            navigate('/jobs');
          }}
          disabled={live}
          danger
        />
        <a className="button" href={href('/submit', { from: data.id })}>
          Duplicate
        </a>
        <button type="button" onClick={() => void download(data).catch((caught: Error) => setError(caught.message))}>
          Download results
        </button>
      </div>
      {error && <p className="error">{error}</p>}
      <dl className="facts">
        <dt>Progress</dt>
        <dd>
          <ProgressBar progress={data.progress} counts={data.counts} />
        </dd>
        <dt>Executions</dt>
        <dd>
          <Counts counts={data.counts} />
        </dd>
        <dt>Owner</dt>
        <dd>{data.owner}</dd>
        <dt>Origin</dt>
        <dd>{data.origin}</dd>
        <dt>Queue</dt>
        <dd>
          {data.queue} (priority {data.priority})
        </dd>
        <dt>Created</dt>
        <dd>{clock(data.createdAt)}</dd>
        <dt>Ran for</dt>
        <dd>{duration(data.startedAt, data.completedAt ?? data.failedAt)}</dd>
        {data.tags.length > 0 && (
          <>
            <dt>Tags</dt>
            <dd>{data.tags.join(', ')}</dd>
          </>
        )}
        <Outcome result={data.result} error={data.error} />
      </dl>

      {hasGraph(data.tasks) && (
        <>
          <h2>Graph</h2>
          <div className="scroll">
            <TaskGraph tasks={data.tasks!} onOpen={(task) => openTask(steps.data?.items ?? [], task.id)} />
          </div>
        </>
      )}

      <h2>Tasks</h2>
      <table className="list">
        <thead>
          <tr>
            <th>#</th>
            <th>Task</th>
            <th>State</th>
            <th>Attempt</th>
            <th>Node</th>
            <th>Duration</th>
            <th>Exit</th>
          </tr>
        </thead>
        <tbody>
          {(steps.data?.items ?? []).map((execution) => (
            <tr key={execution.id} data-execution={execution.id} onClick={() => navigate(`/executions/${execution.id}`)}>
              <td>{data.tasks?.find((task) => task.id === execution.taskId)?.position ?? ''}</td>
              <td>
                <a href={href(`/executions/${execution.id}`)}>{execution.name}</a> <span className="muted">{execution.kind}</span>
                {execution.childCount > 0 && (
                  <span className="muted">
                    {' '}
                    {execution.childDone}/{execution.childCount}
                  </span>
                )}
              </td>
              <td>
                <StateBadge state={execution.state} />
              </td>
              <td>{execution.attempt}</td>
              <td>{nodeNames.get(execution.nodeId ?? '') ?? shortId(execution.nodeId)}</td>
              <td>{duration(execution.startedAt, execution.completedAt)}</td>
              <td>{execution.exitCode ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>

      {arrays.map((execution) => (
        <ArrayItems key={execution.id} execution={execution} live={live} />
      ))}

      <h2>Timeline</h2>
      <Timeline executions={(runs.data?.items ?? []).filter((execution) => execution.childCount === 0)} nodeNames={nodeNames} onOpen={(executionId) => navigate(`/executions/${executionId}`)} />
      {runs.data?.nextCursor && <p className="muted">The first 1,000 executions are drawn.</p>}

      <h2>Events</h2>
      {(events.data?.items.length ?? 0) >= 1000 && <p className="muted">The first 1,000 events.</p>}
      <div className="events-box">
      <table className="list events">
        <tbody>
          {(events.data?.items ?? []).map((event) => (
            <tr key={event.id}>
              <td className="muted">{new Date(event.at).toLocaleTimeString()}</td>
              <td>{event.kind}</td>
              <td>{event.state && <StateBadge state={event.state} />}</td>
              <td>
                {event.executionId && <a href={href(`/executions/${event.executionId}`)}>{shortId(event.executionId)}</a>} {event.stage}{' '}
                {event.message}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
    </section>
  );
}

function openTask(executions: ExecutionBody[], taskId: string): void {
  const latest = executions.filter((execution) => execution.taskId === taskId).at(-1);
  if (latest) navigate(`/executions/${latest.id}`);
}

/** Fetched with the token in a header, then handed to the browser as a file. */
async function download(job: JobBody): Promise<void> {
  const response = await fetch(`/v1/jobs/${job.id}/results.tar.gz`, { headers: authHeaders() });
  if (!response.ok) throw new Error(`results download refused: HTTP ${response.status}`);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = `${job.name || job.id}-results.tar.gz`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
