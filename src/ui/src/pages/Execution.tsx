/**
 * One execution: its log followed live over SSE (searchable, stdout and stderr told apart), its
 * result, outputs, attempts, the node it ran on with that node's isolation, and its limits.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { getJson, query, send, type ExecutionBody, type LogLineBody, type NodeBody, type OutputBody, type Page } from '../api.js';
import { usePoll } from '../hooks.js';
import { bytes, clock, duration, shortId } from '../format.js';
import { href } from '../router.js';
import { followSse } from '../sse.js';
import { isFinal, type State } from '../states.js';
import { ArrayItems } from '../parts/ArrayItems.js';
import { ConfirmButton } from '../parts/Confirm.js';
import { Outcome } from '../parts/Outcome.js';
import { StateBadge } from '../parts/StateBadge.js';

/** Lines drawn at once; the log keeps them all, searching reaches every one. */
const SHOWN_LINES = 5000;

export function ExecutionPage({ id }: { id: string }) {
  const execution = usePoll((signal) => getJson<ExecutionBody>(`/executions/${id}`, { signal }), id, 1500);
  const data = execution.data;
  const final = data ? isFinal(data.state as State) : false;
  const outputs = usePoll((signal) => getJson<{ items: OutputBody[] }>(`/executions/${id}/outputs`, { signal }), `${id}:${final}`, 0);
  // A step's attempts are its task's executions. An array item's earlier attempts are not listed:
  // all items share one task, and /v1 has no filter by item.
  const attempts = usePoll(
    (signal) =>
      data && data.parentId === null
        ? getJson<Page<ExecutionBody>>(`/jobs/${data.jobId}/executions${query({ taskId: data.taskId, topLevel: 1, limit: 100 })}`, { signal })
        : Promise.resolve(undefined),
    `${id}:${data ? 'known' : ''}:${final}`,
    0,
  );
  const nodes = usePoll((signal) => getJson<{ items: NodeBody[] }>('/nodes', { signal }), 'nodes', 30_000);

  if (execution.error) return <p className="error pad">{execution.error.message}</p>;
  if (!data) return <p className="muted pad">Loading…</p>;
  const node = nodes.data?.items.find((candidate) => candidate.id === data.nodeId);
  const tries = attempts.data?.items ?? [];

  return (
    <section className="execution">
      <p>
        <a href={href(`/jobs/${data.jobId}`)}>← job {shortId(data.jobId)}</a>
      </p>
      <div className="row">
        <h1>
          {data.name}
          {data.parentId && <span className="muted"> [item {data.idx}]</span>}
        </h1>
        <StateBadge state={data.state} />
      </div>
      <p className="muted mono">{data.id}</p>
      <div className="actions">
        <ConfirmButton
          label="Cancel"
          question={`Cancel this execution of ${data.name}?`}
          onConfirm={async () => {
            await send('POST', `/executions/${data.id}/cancel`);
            execution.reload();
          }}
          disabled={final}
          danger
        />
      </div>
      <dl className="facts">
        <dt>Kind</dt>
        <dd>{data.kind}</dd>
        <dt>Attempt</dt>
        <dd>{data.attempt}</dd>
        <dt>Node</dt>
        <dd>{node ? `${node.name} (${node.hostname}, ${node.status})` : (data.nodeId ?? 'not placed yet')}</dd>
        <dt>Isolation</dt>
        <dd>{node ? isolationOf(node) : ''}</dd>
        <dt>Limits</dt>
        <dd>
          {data.cpus} cpus, {data.memoryMb} MB memory
        </dd>
        <dt>Queue</dt>
        <dd>{data.queue}</dd>
        <dt>Times</dt>
        <dd>
          created {clock(data.createdAt)}
          {data.startedAt && `, started ${clock(data.startedAt)}`}
          {data.startedAt && `, ran ${duration(data.startedAt, data.completedAt)}`}
        </dd>
        <dt>Exit code</dt>
        <dd>{data.exitCode ?? ''}</dd>
        {data.reason && (
          <>
            <dt>Reason</dt>
            <dd>{data.reason}</dd>
          </>
        )}
        <Outcome result={data.result} error={data.error} />
        <dt>Outputs</dt>
        <dd>
          {(outputs.data?.items ?? []).length === 0 ? (
            <span className="muted">none</span>
          ) : (
            <ul className="outputs">
              {outputs.data!.items.map((output) => (
                <li key={output.path}>
                  <code>{output.path}</code> <span className="muted">{bytes(output.size)}</span>
                </li>
              ))}
            </ul>
          )}
        </dd>
        {tries.length > 1 && (
          <>
            <dt>Attempts</dt>
            <dd>
              {tries.map((other) => (
                <a key={other.id} href={href(`/executions/${other.id}`)} className={other.id === data.id ? 'here' : ''}>
                  #{other.attempt} <StateBadge state={other.state} />{' '}
                </a>
              ))}
            </dd>
          </>
        )}
      </dl>
      {data.childCount > 0 ? <ArrayItems execution={data} live={!final} /> : <LogView id={data.id} />}
    </section>
  );
}

function isolationOf(node: NodeBody): string {
  const info = node.info as Record<string, unknown>;
  const parts = Object.entries(info)
    .filter(([key]) => key !== 'taskCount')
    .map(([key, value]) => `${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
  return parts.join('; ');
}

type Streams = 'all' | 'stdout' | 'stderr';

function LogView({ id }: { id: string }) {
  const [lines, setLines] = useState<LogLineBody[]>([]);
  const [status, setStatus] = useState<'connecting' | 'live' | 'reconnecting' | 'ended'>('connecting');
  const [search, setSearch] = useState('');
  const [streams, setStreams] = useState<Streams>('all');
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const controller = new AbortController();
    let pending: LogLineBody[] = [];
    let frame = 0;
    // Lines arrive in bursts: gather them and render once per animation frame.
    const flush = () => {
      frame = 0;
      const batch = pending;
      pending = [];
      setLines((old) => old.concat(batch));
    };
    void followSse(`/v1/executions/${id}/logs?follow=1`, {
      signal: controller.signal,
      finalEvent: 'end',
      onStatus: setStatus,
      onEvent: (event) => {
        if (event.event !== 'line') return;
        pending.push(JSON.parse(event.data) as LogLineBody);
        if (!frame) frame = requestAnimationFrame(flush);
      },
    });
    return () => {
      controller.abort();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [id]);

  const shown = useMemo(() => {
    const needle = search.toLowerCase();
    const matching = lines.filter((line) => (streams === 'all' || line.stream === streams) && (!needle || line.line.toLowerCase().includes(needle)));
    return { total: matching.length, lines: matching.slice(-SHOWN_LINES) };
  }, [lines, search, streams]);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [shown, follow]);

  return (
    <div className="logs">
      <div className="row">
        <h2>Log</h2>
        <span className={`live ${status}`} data-status={status}>
          {status === 'live' ? 'following' : status}
        </span>
        <input type="search" placeholder="Search the log" value={search} onChange={(event) => setSearch(event.target.value)} aria-label="search the log" />
        <select value={streams} onChange={(event) => setStreams(event.target.value as Streams)} aria-label="streams">
          <option value="all">stdout and stderr</option>
          <option value="stdout">stdout only</option>
          <option value="stderr">stderr only</option>
        </select>
        <label>
          <input type="checkbox" checked={follow} onChange={(event) => setFollow(event.target.checked)} /> follow
        </label>
        <span className="muted">
          {search || streams !== 'all' ? `${shown.total} of ${lines.length}` : lines.length} lines
        </span>
      </div>
      {shown.total > shown.lines.length && <p className="muted">Showing the last {SHOWN_LINES} matching lines.</p>}
      <div className="log" ref={box} role="log" onScroll={(event) => {
        const element = event.currentTarget;
        const atBottom = element.scrollHeight - element.scrollTop - element.clientHeight < 8;
        if (!atBottom && follow) setFollow(false);
      }}>
        {shown.lines.map((line) => (
          <div key={line.number} className={`line ${line.stream}`} data-stream={line.stream}>
            <span className="n">{line.number}</span>
            {line.stream === 'stderr' && <span className="tag-err">err</span>}
            <span className="text">{highlight(line.line, search)}</span>
          </div>
        ))}
      </div>
    </div>
  );
}

function highlight(text: string, search: string) {
  if (!search) return text;
  const at = text.toLowerCase().indexOf(search.toLowerCase());
  if (at < 0) return text;
  return (
    <>
      {text.slice(0, at)}
      <mark>{text.slice(at, at + search.length)}</mark>
      {text.slice(at + search.length)}
    </>
  );
}
