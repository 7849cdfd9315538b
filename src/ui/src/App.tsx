/** The shell: sign-in gate, navigation, and one page per route. */
import { useEffect, useState } from 'react';
import { getJson, onSignedOut, type Me } from './api.js';
import { href, useRoute } from './router.js';
import { forgetToken, savedToken } from './session.js';
import { Login } from './pages/Login.js';
import { Home } from './pages/Home.js';
import { Jobs } from './pages/Jobs.js';
import { JobPage } from './pages/Job.js';
import { ExecutionPage } from './pages/Execution.js';
import { Nodes } from './pages/Nodes.js';
import { Queues } from './pages/Queues.js';
import { Submit } from './pages/Submit.js';

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(savedToken() ? undefined : null);
  const route = useRoute();

  useEffect(() => onSignedOut(() => setMe(null)), []);
  useEffect(() => {
    if (me !== undefined) return;
    getJson<Me>('/me').then(setMe, () => setMe(null));
  }, [me]);

  if (me === undefined) return <p className="muted pad">Loading…</p>;
  if (me === null) return <Login onSignedIn={setMe} />;

  const [section = '', id] = route.parts;
  return (
    <>
      <header className="top">
        <a className="brand" href={href('/')}>
          barge
        </a>
        <nav>
          <a href={href('/jobs')} className={section === 'jobs' ? 'here' : ''}>
            Jobs
          </a>
          <a href={href('/submit')} className={section === 'submit' ? 'here' : ''}>
            Submit
          </a>
          <a href={href('/nodes')} className={section === 'nodes' ? 'here' : ''}>
            Nodes
          </a>
          <a href={href('/queues')} className={section === 'queues' ? 'here' : ''}>
            Queues
          </a>
        </nav>
        <span className="who">
          {me.name} ({me.role})
          <button
            type="button"
            onClick={() => {
              forgetToken();
              setMe(null);
            }}
          >
            Sign out
          </button>
        </span>
      </header>
      <main>{page(section, id, route.params)}</main>
    </>
  );
}

function page(section: string, id: string | undefined, params: URLSearchParams) {
  switch (section) {
    case '':
      return <Home />;
    case 'jobs':
      return id ? <JobPage key={id} id={id} /> : <Jobs params={params} />;
    case 'executions':
      return id ? <ExecutionPage key={id} id={id} /> : <NotFound />;
    case 'submit':
      return <Submit from={params.get('from') ?? undefined} />;
    case 'nodes':
      return <Nodes />;
    case 'queues':
      return <Queues />;
    default:
      return <NotFound />;
  }
}

function NotFound() {
  return (
    <p className="pad">
      No such page. <a href={href('/')}>Back to the front page</a>.
    </p>
  );
}
