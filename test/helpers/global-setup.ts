/**
 * vitest global setup: one throwaway PostgreSQL cluster for the whole run, its URL provided to
 * every test file as `pgUrl` (empty when PostgreSQL is not installed outside CI, so PostgreSQL
 * tests skip), and stopped at the end.
 */
import type { TestProject } from 'vitest/node';
import { PG_SKIP_REASON, startPostgres } from './pg.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Server URL of the test cluster; '' when there is none. */
    pgUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startPostgres();
  if (!cluster) console.warn(PG_SKIP_REASON);
  project.provide('pgUrl', cluster?.url ?? '');
  return async () => {
    await cluster?.stop();
  };
}
