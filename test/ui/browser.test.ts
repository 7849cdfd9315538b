/**
 * The web UI in a real Chromium (Debian's /usr/bin/chromium, driven by playwright-core) against a
 * real `barge up` on loopback: one server and one browser for the whole file, the tests in order.
 * Every request the page makes is recorded: none may leave loopback or carry the token in its
 * URL. Each test saves a screenshot under dist/test-artifacts/ui/.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { api, startBarge, type BargeProcess } from '../helpers/barge-process.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = join(import.meta.dirname, '..', '..');
const ARTIFACTS = join(ROOT, 'dist', 'test-artifacts', 'ui');
/** Items in the array the grid draws: the engine accepts this many in about a second. */
const ARRAY_ITEMS = 100_000;

let work: string;
let server: BargeProcess;
let token: string;
let browser: Browser;
let page: Page;
const requests: Request[] = [];
const navigations: string[] = [];
/** Console messages about the Content Security Policy: the page must need no exception to it. */
const policyViolations: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function submitJson(spec: unknown): Promise<string> {
  const { status, body } = await api<{ id: string }>(server.url, '/v1/jobs', { method: 'POST', body: JSON.stringify(spec) }, token);
  expect(status).toBe(201);
  return body.id;
}

/** Opens a route of the page without reloading it (the app routes on the fragment). */
async function open(route: string): Promise<void> {
  await page.evaluate((hash) => (window.location.hash = hash), route);
}

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist', 'ui', 'index.html'))) throw new Error('dist/ui is missing: run `npm run build` first (`npm test` does)');
  mkdirSync(ARTIFACTS, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'barge-ui-'));
  server = await startBarge(['up', '--data', join(work, 'data'), '--cpus', '4', '--memory', '4096', '--isolation', 'none'], {
    XDG_CONFIG_HOME: join(work, 'config'),
  });
  token = (JSON.parse(readFileSync(join(work, 'config', 'barge', 'credentials.json'), 'utf8')) as { token: string }).token;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // A request for anywhere but this server is refused (and recorded below, failing the last test).
  await context.route(
    (url) => url.origin !== server.url,
    (route) => route.abort('blockedbyclient'),
  );
  page = await context.newPage();
  page.on('request', (request) => requests.push(request));
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) policyViolations.push(message.text());
  });
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations.push(frame.url());
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the web UI in Chromium', () => {
  it('refuses a wrong token, then signs in with the real one', async () => {
    await page.goto(server.url);
    await page.fill('input[name=token]', 'barge_t_not-a-real-token');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('.login .error')).toContain('not accepted');
    await page.fill('input[name=token]', token);
    await page.click('button[type=submit]');
    await page.waitForSelector('text=Overview');
    await page.waitForSelector('tr, .card b[data-total=jobs]');
    expect(await page.evaluate(() => sessionStorage.getItem('barge.token'))).toBe(token);
    await shot('01-front-page');
  });

  it('shows field-path errors before sending, then submits and follows the job to SUCCEEDED live', async () => {
    await open('#/submit');
    const textarea = page.locator('textarea[aria-label="job spec"]');
    await textarea.fill('name: graph\ntasks:\n  - name: a\n    run: echo a\n    retry: { limit: 99 }\n');
    const postsBefore = requests.filter((request) => request.method() === 'POST').length;
    await page.click('button.primary:has-text("Submit")');
    await expect.poll(() => page.textContent('ul.problems')).toContain('tasks[0].retry.limit');
    // The mistake was caught in the page: nothing was sent.
    expect(requests.filter((request) => request.method() === 'POST').length).toBe(postsBefore);
    await shot('02-submit-error');

    const loadsBefore = navigations.filter((url) => !url.includes('#')).length;
    await textarea.fill(
      [
        'name: graph',
        'tasks:',
        '  - name: a',
        '    run: echo first; sleep 1',
        '  - name: b',
        '    needs: [a]',
        '    run: echo b',
        '  - name: c',
        '    needs: [a]',
        '    run: echo c',
        '  - name: d',
        '    needs: [b, c]',
        '    run: echo -n done > $BARGE_OUTPUT',
        '',
      ].join('\n'),
    );
    await page.click('button.primary:has-text("Submit")');
    await page.waitForSelector('.job h1:has-text("graph")');
    // Seen while it runs, then SUCCEEDED, with no reload in between.
    await page.waitForSelector('.job .row .badge:not([data-state=SUCCEEDED])');
    await page.waitForSelector('.job .row .badge[data-state=SUCCEEDED]', { timeout: 20_000 });
    expect(navigations.filter((url) => !url.includes('#')).length).toBe(loadsBefore);
    // The needs graph: four nodes, coloured by their state.
    expect(await page.locator('svg.graph .graph-node').count()).toBe(4);
    await page.waitForSelector('svg.graph .graph-node[data-task=d][data-state=SUCCEEDED]');
    await shot('03-job-graph-succeeded');
  });

  it('duplicates a job into the form, and reads a spec from a chosen file', async () => {
    await page.click('.job .actions a:has-text("Duplicate")');
    const textarea = page.locator('textarea[aria-label="job spec"]');
    await expect.poll(() => textarea.inputValue()).toContain('name: graph');
    expect(await textarea.inputValue()).toContain('needs:');
    await page.setInputFiles('input[type=file]', {
      name: 'from-file.yaml',
      mimeType: 'text/yaml',
      buffer: Buffer.from('name: from a file\ntasks:\n  - name: only\n    run: echo file\n'),
    });
    await expect.poll(() => textarea.inputValue()).toContain('name: from a file');
    await page.click('button.primary:has-text("Submit")');
    await page.waitForSelector('.job h1:has-text("from a file")');
  });

  it('follows a running execution’s log over SSE, stdout and stderr apart, searchable', async () => {
    const id = await submitJson({
      name: 'ticker',
      tasks: [{ name: 'tick', run: 'for i in $(seq 1 12); do echo "tick $i"; echo "warn $i" >&2; sleep 0.25; done' }],
    });
    await open(`#/jobs/${id}`);
    await page.click('tr[data-execution]');
    await page.waitForSelector('.logs .live[data-status=live]');
    await page.waitForSelector('.log .line.stdout:has-text("tick 1")');
    // Still running when the first lines show: the rest arrive on the open stream.
    expect(await page.locator('.log .line:has-text("tick 12")').count()).toBe(0);
    await page.waitForSelector('.log .line.stdout:has-text("tick 12")', { timeout: 15_000 });
    await page.waitForSelector('.log .line.stderr:has-text("warn 12")');
    await page.waitForSelector('.logs .live[data-status=ended]');
    await page.fill('input[aria-label="search the log"]', 'warn 1');
    // "warn 1", "warn 10", "warn 11", "warn 12"
    await expect.poll(() => page.locator('.log .line').count()).toBe(4);
    expect(await page.locator('.log .line.stdout').count()).toBe(0);
    await shot('04-execution-log');
    const stream = requests.find((request) => request.url().includes('/logs?follow=1'));
    expect(stream).toBeDefined();
    expect((await stream!.allHeaders()).authorization).toBe(`Bearer ${token}`);
  });

  it('cancels a running job only after confirmation', async () => {
    const id = await submitJson({ name: 'sleeper', tasks: [{ name: 'nap', run: 'sleep 60' }] });
    await open(`#/jobs/${id}`);
    await page.waitForSelector('.job .row .badge[data-state=RUNNING]', { timeout: 15_000 });
    await page.click('.job .actions button:has-text("Cancel")');
    await page.click('dialog[open] button:has-text("Keep it")');
    expect((await api<{ state: string }>(server.url, `/v1/jobs/${id}`, {}, token)).body.state).toBe('RUNNING');
    await page.click('.job .actions button:has-text("Cancel")');
    await page.waitForSelector('dialog[open]');
    await shot('05-cancel-confirm');
    await page.click('dialog[open] button:has-text("Yes, cancel")');
    await page.waitForSelector('.job .row .badge[data-state=CANCELLED]');
    expect((await api<{ state: string }>(server.url, `/v1/jobs/${id}`, {}, token)).body.state).toBe('CANCELLED');

    // Restart, confirmed, runs it again; once it is cancelled again, delete (confirmed) removes it.
    await page.click('.job .actions button:has-text("Restart")');
    await page.click('dialog[open] button:has-text("Yes, restart")');
    await page.waitForSelector('.job .row .badge:not([data-state=CANCELLED])');
    await api(server.url, `/v1/jobs/${id}/cancel`, { method: 'POST' }, token);
    await page.waitForSelector('.job .row .badge[data-state=CANCELLED]');
    await page.click('.job .actions button:has-text("Delete")');
    await page.click('dialog[open] button:has-text("Yes, delete")');
    await page.waitForSelector('h1:has-text("Jobs")');
    expect((await api(server.url, `/v1/jobs/${id}`, {}, token)).status).toBe(404);
  });

  it(`draws a ${ARRAY_ITEMS.toLocaleString('en')}-item array as a grid that stays responsive`, async () => {
    // The items wait in a queue no worker serves, so the machine is not busy running them.
    const id = await submitJson({
      name: 'big array',
      tasks: [{ name: 'items', each: { list: `{{ sequence(0, ${ARRAY_ITEMS}) }}`, task: { name: 'item', queue: 'parked', run: 'true' } } }],
    });
    await open(`#/jobs/${id}`);
    const canvas = page.locator(`.item-grid canvas[data-items="${ARRAY_ITEMS}"]`);
    await canvas.waitFor({ timeout: 20_000 });
    // Every item has a cell: the canvas holds at least one pixel per item.
    const size = await canvas.evaluate((element: HTMLCanvasElement) => ({ width: element.width, height: element.height }));
    expect(size.width * size.height).toBeGreaterThanOrEqual(ARRAY_ITEMS);
    // The page still answers: hovering names the item under the pointer, clicking opens it.
    await canvas.hover({ position: { x: 1, y: 1 } });
    await expect.poll(() => page.textContent('.item-grid .tip')).toMatch(/^item 0: RUNNABLE$/);
    await shot('06-array-grid');
    await canvas.click({ position: { x: 1, y: 1 } });
    await page.waitForSelector('.execution h1:has-text("item 0")');
    await api(server.url, `/v1/jobs/${id}/cancel`, { method: 'POST' }, token);
  });

  it('moves through the jobs list with the keyboard', async () => {
    await open('#/jobs');
    await page.waitForSelector('tbody tr[data-job] >> nth=3');
    const ids = await page.locator('tbody tr[data-job]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-job')));
    await page.focus('tbody tr[data-job] >> nth=0');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Enter');
    await page.waitForSelector(`.job .mono:has-text("${ids[1]}")`);
    await open('#/jobs?state=SUCCEEDED');
    await page.waitForSelector('.counts .chip.picked[data-state=SUCCEEDED]');
    const { body } = await api<{ counts: Record<string, number> }>(server.url, '/v1/jobs/counts', {}, token);
    expect(body.counts.SUCCEEDED).toBeGreaterThanOrEqual(3);
    await expect
      .poll(() => page.locator('tbody tr[data-job]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-state'))))
      .toEqual(new Array(body.counts.SUCCEEDED).fill('SUCCEEDED'));
    await shot('07-jobs-list');
  });

  it('lists the nodes, and shows a worker go DOWN when it stops', async () => {
    // A second process, a worker on the same SQLite file: it joins the list, then leaves it DOWN.
    const worker = await startBarge(
      ['worker', '--db', `sqlite:${join(work, 'data', 'barge.db')}`, '--data', join(work, 'worker'), '--isolation', 'none', '--cpus', '1', '--memory', '512'],
      {},
      { waitForHttp: false },
    );
    try {
      await open('#/nodes');
      await page.waitForSelector('tr[data-node][data-status=UP] >> nth=1', { timeout: 15_000 });
      const workerRow = page.locator('tr[data-node]:has(td:text-is("worker"))');
      await expect.poll(() => workerRow.getAttribute('data-status')).toBe('UP');
      await worker.stop();
      await expect.poll(() => workerRow.getAttribute('data-status'), { timeout: 15_000 }).toBe('DOWN');
      await shot('08-nodes-worker-down');
    } finally {
      await worker.stop('SIGKILL');
    }
    await open('#/queues');
    // The default queue ran this file's steps: its sparkline of the last hour is drawn.
    await page.waitForSelector('tr[data-queue=default] svg.sparkline');
    await shot('09-queues');
    await open('#/');
    // At least the graph's four steps, the file's one and the ticker's one ended within the hour.
    await expect.poll(async () => Number(await page.textContent('[data-total=finished-last-hour]'))).toBeGreaterThanOrEqual(6);
    await shot('10-front-page-totals');
  });

  it('kept every request on this server and every token out of URLs', () => {
    expect(requests.length).toBeGreaterThan(20);
    const elsewhere = requests.map((request) => request.url()).filter((url) => new URL(url).origin !== server.url && !url.startsWith('data:'));
    expect(elsewhere).toEqual([]);
    const leaking = [...requests.map((request) => request.url()), ...navigations].filter((url) => url.includes(token) || url.includes('barge_t_'));
    expect(leaking).toEqual([]);
    expect(policyViolations).toEqual([]);
  });
});
