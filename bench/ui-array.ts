/**
 * The web UI's array grid in a real Chromium against a real `barge up`: for a 10,000-item and a
 * 100,000-item array (parked in a queue no worker serves, so nothing runs), how long the job's
 * page takes to load and to first draw every item. Times are the page's own (Navigation Timing
 * and the `barge:item-grid-drawn` mark ItemGrid sets), from the start of navigation. The ratio
 * compares the two sizes: near 1 means the grid's cost hardly grows with the items. Each figure
 * is the median of REPEATS fresh tabs, after one discarded load that warms the server up.
 * Needs `npm run build` (dist/ and dist/ui) and /usr/bin/chromium.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { api, startBarge } from '../test/helpers/barge-process.js';

export interface GridTiming {
  items: number;
  /** Navigation start to the load event. */
  pageLoadMs: number;
  /** Navigation start to the grid's first draw, with the job and its items fetched. */
  firstRenderMs: number;
}

export interface UiArrayResult {
  timings: GridTiming[];
  /** First render of the largest array over the smallest's. */
  ratio: number;
}

const REPEATS = 3;

export async function uiArrayBench(sizes = [10_000, 100_000]): Promise<UiArrayResult> {
  const work = mkdtempSync(join(tmpdir(), 'barge-bench-ui-'));
  const server = await startBarge(['up', '--data', join(work, 'data'), '--isolation', 'none'], { XDG_CONFIG_HOME: join(work, 'config') });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const { token } = JSON.parse(readFileSync(join(work, 'config', 'barge', 'credentials.json'), 'utf8')) as { token: string };
    const timings: GridTiming[] = [];
    for (const [i, items] of [sizes[0], ...sizes].entries()) {
      const spec = {
        name: `grid ${items}`,
        tasks: [{ name: 'items', each: { list: `{{ sequence(0, ${items}) }}`, task: { name: 'item', queue: 'parked', run: 'true' } } }],
      };
      const submitted = await api<{ id: string }>(server.url, '/v1/jobs', { method: 'POST', body: JSON.stringify(spec) }, token);
      if (submitted.status !== 201) throw new Error(`submit answered ${submitted.status}`);
      const runs: GridTiming[] = [];
      for (let repeat = 0; repeat < (i === 0 ? 1 : REPEATS); repeat += 1) {
        runs.push(await timeGrid(browser, `${server.url}/#/jobs/${submitted.body.id}`, token, items));
      }
      await api(server.url, `/v1/jobs/${submitted.body.id}/cancel`, { method: 'POST' }, token);
      if (i > 0) timings.push(median(runs));
    }
    const ratio = timings.at(-1)!.firstRenderMs / timings[0].firstRenderMs;
    return { timings, ratio };
  } finally {
    await browser.close();
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** One fresh tab, signed in the way the login page leaves it (the token in sessionStorage). */
async function timeGrid(browser: Browser, url: string, token: string, items: number): Promise<GridTiming> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    await context.addInitScript((saved) => sessionStorage.setItem('barge.token', saved), token);
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'load' });
    const timing = await page.waitForFunction(
      (count) => {
        const drawn = performance.getEntriesByName('barge:item-grid-drawn').find((mark) => (mark as PerformanceMark).detail?.items === count);
        const navigation = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
        return drawn && navigation ? { pageLoadMs: navigation.loadEventEnd, firstRenderMs: drawn.startTime } : null;
      },
      items,
      { timeout: 60_000 },
    );
    return { items, ...((await timing.jsonValue()) as Omit<GridTiming, 'items'>) };
  } finally {
    await context.close();
  }
}

function median(runs: GridTiming[]): GridTiming {
  const middle = <T>(values: T[], key: (value: T) => number) => [...values].sort((a, b) => key(a) - key(b))[Math.floor(values.length / 2)];
  return {
    items: runs[0].items,
    pageLoadMs: middle(runs, (run) => run.pageLoadMs).pageLoadMs,
    firstRenderMs: middle(runs, (run) => run.firstRenderMs).firstRenderMs,
  };
}
