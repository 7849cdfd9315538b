/**
 * The jobs list: live (polled), filtered by search text, state, owner, origin, queue and tag,
 * paged by cursor, with counts by state for the same filters. Arrow keys (or j/k) move through
 * the rows and Enter opens one.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { getJson, query, type JobBody, type JobCounts, type Page } from '../api.js';
import { usePoll } from '../hooks.js';
import { age, duration, shortId } from '../format.js';
import { href, navigate } from '../router.js';
import { STATES } from '../states.js';
import { Counts } from '../parts/Counts.js';
import { ProgressBar } from '../parts/ProgressBar.js';
import { StateBadge } from '../parts/StateBadge.js';

const FILTERS = ['q', 'state', 'owner', 'origin', 'queue', 'tag'] as const;
const ORIGINS = ['v1', 'tork', 'sliderule', 'batches', 'sc', 'srtslurm'];
const PAGE_SIZE = 50;

export function Jobs({ params }: { params: URLSearchParams }) {
  const filters = Object.fromEntries(FILTERS.map((name) => [name, params.get(name) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const cursor = params.get('cursor') ?? '';
  const key = params.toString();
  const list = usePoll((signal) => getJson<Page<JobBody>>(`/jobs${query({ ...filters, cursor, limit: PAGE_SIZE })}`, { signal }), key, 2000);
  const counts = usePoll((signal) => getJson<JobCounts>(`/jobs/counts${query({ ...filters, state: '' })}`, { signal }), key, 5000);
  const [selected, setSelected] = useState(0);
  const table = useRef<HTMLTableSectionElement>(null);
  const items = list.data?.items ?? [];

  const setFilters = (next: Partial<Record<string, string>>) => {
    const merged: Record<string, string | undefined> = { ...filters, ...next };
    navigate('/jobs', merged);
    setSelected(0);
  };

  useEffect(() => {
    const row = table.current?.querySelectorAll('tr')[selected];
    if (row && table.current?.contains(document.activeElement)) (row as HTMLElement).focus();
  }, [selected]);

  const onKey = (event: React.KeyboardEvent) => {
    if (event.key === 'ArrowDown' || event.key === 'j') setSelected((n) => Math.min(items.length - 1, n + 1));
    else if (event.key === 'ArrowUp' || event.key === 'k') setSelected((n) => Math.max(0, n - 1));
    else if (event.key === 'Enter' && items[selected]) navigate(`/jobs/${items[selected].id}`);
    else return;
    event.preventDefault();
  };

  const search = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setFilters(Object.fromEntries(FILTERS.map((name) => [name, String(form.get(name) ?? '').trim()])));
  };

  return (
    <section>
      <div className="row">
        <h1>Jobs</h1>
        <a className="button primary" href={href('/submit')}>
          Submit a job
        </a>
      </div>
      <form className="filters" onSubmit={search} key={key}>
        <input name="q" type="search" placeholder="Search name, description, tags" defaultValue={filters.q} aria-label="search" />
        <select name="state" defaultValue={filters.state} aria-label="state" onChange={(event) => setFilters({ state: event.target.value })}>
          <option value="">any state</option>
          {STATES.map((state) => (
            <option key={state}>{state}</option>
          ))}
        </select>
        <input name="owner" placeholder="owner" defaultValue={filters.owner} aria-label="owner" />
        <select name="origin" defaultValue={filters.origin} aria-label="origin" onChange={(event) => setFilters({ origin: event.target.value })}>
          <option value="">any origin</option>
          {ORIGINS.map((origin) => (
            <option key={origin}>{origin}</option>
          ))}
        </select>
        <input name="queue" placeholder="queue" defaultValue={filters.queue} aria-label="queue" />
        <input name="tag" placeholder="tag" defaultValue={filters.tag} aria-label="tag" />
        <button type="submit">Filter</button>
        {FILTERS.some((name) => filters[name]) && (
          <button type="button" onClick={() => navigate('/jobs')}>
            Clear
          </button>
        )}
      </form>
      {counts.data && (
        <div className="row">
          <span className="muted">{counts.data.total} jobs</span>
          <Counts counts={counts.data.counts} picked={filters.state} onPick={(state) => setFilters({ state })} />
        </div>
      )}
      {list.error && <p className="error">{list.error.message}</p>}
      <table className="list jobs">
        <thead>
          <tr>
            <th>Job</th>
            <th>State</th>
            <th>Progress</th>
            <th>Owner</th>
            <th>Origin</th>
            <th>Queue</th>
            <th>Age</th>
            <th>Duration</th>
          </tr>
        </thead>
        <tbody ref={table} onKeyDown={onKey}>
          {items.map((job, i) => (
            <tr
              key={job.id}
              tabIndex={0}
              className={i === selected ? 'selected' : ''}
              data-job={job.id}
              data-state={job.state}
              onFocus={() => setSelected(i)}
              onClick={() => navigate(`/jobs/${job.id}`)}
            >
              <td>
                <a href={href(`/jobs/${job.id}`)} tabIndex={-1}>
                  {job.name || shortId(job.id)}
                </a>{' '}
                <span className="muted mono">{shortId(job.id)}</span>
                {job.tags.map((tag) => (
                  <span key={tag} className="tag">
                    {tag}
                  </span>
                ))}
              </td>
              <td>
                <StateBadge state={job.state} />
              </td>
              <td>
                <ProgressBar progress={job.progress} counts={job.counts} />
              </td>
              <td>{job.owner}</td>
              <td>
                <span className="origin">{job.origin}</span>
              </td>
              <td>{job.queue}</td>
              <td title={job.createdAt}>{age(job.createdAt)}</td>
              <td>{duration(job.startedAt, job.completedAt ?? job.failedAt)}</td>
            </tr>
          ))}
          {list.data && items.length === 0 && (
            <tr>
              <td colSpan={8} className="muted">
                No jobs match.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <div className="row pager">
        {cursor && (
          <button type="button" onClick={() => window.history.back()}>
            ← Newer
          </button>
        )}
        {list.data?.nextCursor && (
          <button type="button" onClick={() => navigate('/jobs', { ...filters, cursor: list.data!.nextCursor! })}>
            Older →
          </button>
        )}
      </div>
    </section>
  );
}
