/**
 * Submit a job by pasting YAML (or JSON) or choosing a file. The spec is checked in the page with
 * the server's own rules (core/spec.ts) so mistakes show with their field paths before anything
 * is sent; whatever the server still refuses is shown the same way.
 */
import { useEffect, useState } from 'react';
import { stringify } from 'yaml';
import { ApiError, getJson, send, type JobBody, type Problem } from '../api.js';
import { navigate } from '../router.js';
import { parseSpecText, validateJobSpec } from '../../../core/spec.js';
import { ValidationError } from '../../../core/errors.js';

const EXAMPLE = `name: hello
tasks:
  - name: greet
    run: echo hello from barge
`;

export function checkSpec(text: string): Problem[] {
  try {
    const format = text.trimStart().startsWith('{') ? 'json' : 'yaml';
    validateJobSpec(parseSpecText(text, format), { requireSomethingToRun: true });
    return [];
  } catch (error) {
    if (error instanceof ValidationError) return error.problems;
    return [{ path: '', message: error instanceof Error ? error.message : String(error) }];
  }
}

export function Submit({ from }: { from?: string }) {
  const [text, setText] = useState(from ? '' : EXAMPLE);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!from) return;
    getJson<JobBody>(`/jobs/${from}`).then(
      (job) => setText(stringify(job.spec ?? {}, { lineWidth: 0 })),
      (caught: Error) => setError(`Could not read job ${from}: ${caught.message}`),
    );
  }, [from]);

  const submit = async () => {
    setError(undefined);
    const found = checkSpec(text);
    setProblems(found);
    if (found.length > 0) return;
    setBusy(true);
    try {
      const format = text.trimStart().startsWith('{') ? 'application/json' : 'application/yaml';
      const job = await send<JobBody>('POST', '/jobs', { body: text, contentType: format });
      if (job) navigate(`/jobs/${job.id}`);
    } catch (caught) {
      if (caught instanceof ApiError && caught.details.length > 0) setProblems(caught.details);
      else setError(caught instanceof Error ? caught.message : String(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="submit">
      <h1>{from ? 'Duplicate a job' : 'Submit a job'}</h1>
      <p className="muted">
        A job spec in YAML or JSON (the README's job spec). {from && 'Secret values were not copied: fill them in again.'}
      </p>
      <div className="row">
        <label className="button">
          Open a file…
          <input
            type="file"
            accept=".yaml,.yml,.json,text/yaml,application/json"
            hidden
            onChange={(event) => {
              const file = event.target.files?.[0];
              if (file) void file.text().then((content) => { setText(content); setProblems([]); });
            }}
          />
        </label>
        <button type="button" onClick={() => setProblems(checkSpec(text))}>
          Check
        </button>
        <button type="button" className="primary" onClick={() => void submit()} disabled={busy || text.trim() === ''}>
          Submit
        </button>
      </div>
      <textarea
        aria-label="job spec"
        spellCheck={false}
        value={text}
        rows={22}
        onChange={(event) => {
          setText(event.target.value);
          setProblems([]);
        }}
      />
      {problems.length > 0 && (
        <ul className="problems" aria-label="problems">
          {problems.map((problem, i) => (
            <li key={i}>
              <code>{problem.path || '(document)'}</code>: {problem.message}
            </li>
          ))}
        </ul>
      )}
      {error && <p className="error">{error}</p>}
    </section>
  );
}
