/**
 * The real `barge` binary (bin/barge.js over the compiled dist/, built by `npm test`) against a
 * real `barge up` on a free loopback port, with its token saved where the CLI looks for it: a
 * temporary XDG_CONFIG_HOME shared by the server and every CLI run.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startBarge, type BargeProcess } from '../helpers/barge-process.js';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface JobJson {
  id: string;
  name: string;
  state: string;
  inputs: Record<string, string>;
  counts: Record<string, number>;
  error: string | null;
}

interface ExecutionJson {
  id: string;
  kind: string;
  state: string;
}

const ROOT = join(import.meta.dirname, '..', '..');
/** A progress line as printed when stderr is not a terminal. */
const PROGRESS_LINE = /^\d+\/\d+ done, \d+ failed(, \d+ cancelled)?, \d+ running, \d+\.\d\/s, ETA (-|\w+)$/m;

const work = mkdtempSync(join(tmpdir(), 'barge-cli-'));
const configHome = join(work, 'config');
const home = join(work, 'home');
let server: BargeProcess;

/** The environment every CLI run starts from: this test's config folder, no BARGE_* settings. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: configHome, HOME: home, NO_COLOR: '1' };
  for (const key of Object.keys(env)) if (key.startsWith('BARGE_')) delete env[key];
  return env;
}

function file(name: string, text: string): string {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
}

interface CliOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Called with the child's pid and its stderr so far, each time it writes to stderr. */
  onStderr?: (pid: number, stderr: string) => void;
  timeoutMs?: number;
}

/** Runs `node bin/barge.js …`, stdin and stdout piped (so not a terminal), and collects its output. */
function barge(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/barge.js', ...args], {
      cwd: ROOT,
      env: { ...baseEnv(), ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (child.pid) options.onStderr?.(child.pid, stderr);
    });
    const timer = setTimeout(() => {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
      reject(new Error(`barge ${args.join(' ')} did not finish in time:\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 45_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs a command that must succeed, and returns its stdout. */
async function ok(args: string[], options: CliOptions = {}): Promise<string> {
  const result = await barge(args, options);
  expect(result.code, `barge ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

async function json<T>(args: string[]): Promise<T> {
  return JSON.parse(await ok([...args, '--json'])) as T;
}

/** The /v1 API directly, for what the CLI does not print (execution ids). */
async function apiGet<T>(path: string): Promise<T> {
  const { token } = JSON.parse(readFileSync(join(configHome, 'barge', 'credentials.json'), 'utf8')) as { token: string };
  const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return (await response.json()) as T;
}

async function waitForState(id: string, states: string[]): Promise<JobJson> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const job = await apiGet<JobJson>(`/v1/jobs/${id}`);
    if (states.includes(job.state) || Date.now() > deadline) return job;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function assertBuilt(): void {
  const built = join(ROOT, 'dist', 'cli', 'commands.js');
  const newestSource = Math.max(...readdirSync(join(ROOT, 'src', 'cli')).map((name) => statSync(join(ROOT, 'src', 'cli', name)).mtimeMs));
  if (!existsSync(built) || statSync(built).mtimeMs < newestSource) {
    throw new Error('dist/ is missing or older than src/cli: run `npm run build` first (`npm test` does)');
  }
}

beforeAll(async () => {
  assertBuilt();
  mkdirSync(home, { recursive: true });
  const data = join(work, 'data');
  server = await startBarge(['up', '--data', data, '--cpus', '8', '--memory', '8192', '--isolation', 'none', '--drain-grace', '1'], {
    ...baseEnv(),
  });
});

afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

// The tests run one after another: on a busy machine, parallel CLI runs only stretch each other's timings.
describe('barge CLI', () => {
  describe('barge up wrote credentials the CLI uses', () => {
    it('saved the server and a token in XDG_CONFIG_HOME', () => {
      const saved = JSON.parse(readFileSync(join(configHome, 'barge', 'credentials.json'), 'utf8')) as { server: string; token: string };
      expect(saved.server).toBe(server.url);
      expect(saved.token.length).toBeGreaterThan(10);
    });
  });

  describe('submit', () => {
    const yamlJob = file(
      'hello.yaml',
      ['# a comment the CLI keeps', 'name: hello', 'inputs:', '  who: world', 'tasks:', '  - name: greet', '    env:', '      WHO: "{{ inputs.who }}"', '    run: echo "hello $WHO"', ''].join('\n'),
    );

    it('submits YAML with --input merged in and prints the job as JSON', async () => {
      const job = await json<JobJson>(['submit', yamlJob, '--input', 'who=you', '--input', 'extra=a=b']);
      expect(job.name).toBe('hello');
      expect(job.inputs).toEqual({ who: 'you', extra: 'a=b' });
      const done = await waitForState(job.id, ['SUCCEEDED', 'FAILED']);
      expect(done.state).toBe('SUCCEEDED');
      expect(await ok(['logs', job.id])).toBe('hello you\n');
    });

    it('prints only the job id on stdout without --json', async () => {
      const result = await barge(['submit', yamlJob]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^[0-9a-f]{32}\n$/);
      expect(result.stderr).toContain('barge wait');
    });

    it('submits JSON from stdin', async () => {
      const spec = { name: 'from stdin', tasks: [{ name: 'only', run: 'true' }] };
      const id = (await ok(['submit', '-'], { input: JSON.stringify(spec) })).trim();
      expect((await waitForState(id, ['SUCCEEDED'])).name).toBe('from stdin');
    });

    it('--wait exits 0 for a job that succeeds, with plain progress lines when piped', async () => {
      const result = await barge(['submit', yamlJob, '--wait']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^[0-9a-f]{32}\n$/);
      expect(result.stderr).toMatch(PROGRESS_LINE);
      expect(result.stderr).toMatch(/job [0-9a-f]{32} "hello" SUCCEEDED in [\d.]+s: 1\/1 done, 0 failed/);
      expect(result.stderr).not.toContain('\x1b[');
    });

    it('--wait exits 1 for a job that fails and prints its error', async () => {
      const failing = file('fail.json', JSON.stringify({ name: 'doomed', tasks: [{ name: 'boom', run: 'echo bad >&2; exit 7' }] }));
      const result = await barge(['submit', failing, '--wait', '--json']);
      expect(result.code).toBe(1);
      const job = JSON.parse(result.stdout) as JobJson;
      expect(job.state).toBe('FAILED');
      expect(result.stderr).toMatch(/"doomed" FAILED/);
      expect(result.stderr).toMatch(/^error: /m);
    });

    it('prints a progress line every 2 s while a longer job runs', async () => {
      const slow = file(
        'slow.yaml',
        ['name: slow', 'tasks:', '  - name: items', '    each:', '      list: "{{ sequence(0, 6) }}"', '      concurrency: 2', '      task:', '        name: item', '        run: sleep 1', ''].join('\n'),
      );
      const result = await barge(['submit', slow, '--wait']);
      expect(result.code, result.stderr).toBe(0);
      const lines = result.stderr.split('\n').filter((line) => PROGRESS_LINE.test(line));
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(lines.at(-1)).toMatch(/^6\/6 done, 0 failed, 0 running/);
      expect(lines.some((line) => / 2 running/.test(line))).toBe(true);
    });
  });

  describe('run', () => {
    it('streams the output of a command whose arguments need quoting, and exits 0', async () => {
      const result = await barge(['run', '--', 'printf', '%s|\\n', 'a b', "it's", '$HOME', '{{ job.id }}']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe("a b|\nit's|\n$HOME|\n{{ job.id }}|\n");
    });

    it("exits with the command's status and passes its stderr through", async () => {
      const result = await barge(['run', '--name', 'fails', '--cpus', '1', '--memory', '64', '--', 'sh', '-c', 'echo out; echo oops >&2; exit 3']);
      expect(result.code).toBe(3);
      expect(result.stdout).toBe('out\n');
      expect(result.stderr).toContain('oops');
      expect(result.stderr).toMatch(/job [0-9a-f]{32} FAILED/);
    });

    it('--detach prints the job id and returns', async () => {
      const id = (await ok(['run', '--detach', '--', 'echo', 'later'])).trim();
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect((await waitForState(id, ['SUCCEEDED'])).state).toBe('SUCCEEDED');
    });
  });

  describe('map', () => {
    const lines = Array.from({ length: 20 }, (_, i) => `item ${i} "quoted" $x`);
    const argsFile = file('lines.txt', `${lines.join('\n')}\n\n`);

    it('fans a shell script out over 20 lines, 3 at a time, and keeps their outputs', async () => {
      const script = file('echo-line.sh', 'echo "line=$1"\nmkdir -p outputs\nprintf "%s" "$1" > outputs/line.txt\n');
      const result = await barge(['map', script, '--args-file', argsFile, '--concurrency', '3', '--memory', '64']);
      expect(result.code, result.stderr).toBe(0);
      const id = result.stdout.trim();
      expect(result.stderr).toMatch(/SUCCEEDED in [\d.]+s: 20\/20 done, 0 failed/);

      const job = await json<JobJson>(['get', id]);
      expect(job.state).toBe('SUCCEEDED');
      expect(job.counts.SUCCEEDED).toBe(20);

      const log = await ok(['logs', id]);
      for (const [index, line] of lines.entries()) expect(log).toContain(`echo-line.sh[${index}] | line=${line}\n`);

      const archive = join(work, 'results.tar.gz');
      const saved = await barge(['results', id, '-o', archive]);
      expect(saved.code, saved.stderr).toBe(0);
      const unpacked = join(work, 'results');
      mkdirSync(unpacked);
      execFileSync('tar', ['-xzf', archive, '-C', unpacked]);
      const found = readdirSync(unpacked, { recursive: true, encoding: 'utf8' }).filter((path) => path.endsWith('outputs/line.txt'));
      expect(found).toHaveLength(20);
      const contents = found.map((path) => readFileSync(join(unpacked, path), 'utf8')).sort();
      expect(contents).toEqual([...lines].sort());
    });

    it('runs a Lua script with the line in arg[2]', async () => {
      const script = file('shout.lua', 'print("lua:" .. string.upper(arg[2]))\n');
      const result = await barge(['map', script, '--args-file', argsFile, '--concurrency', '3', '--name', 'lua map']);
      expect(result.code, result.stderr).toBe(0);
      const log = await ok(['logs', result.stdout.trim()]);
      for (const line of lines) expect(log).toContain(`lua:${line.toUpperCase()}\n`);
    });

    it('--detach returns at once', async () => {
      const script = file('true.sh', 'true\n');
      const id = (await ok(['map', script, '--args-file', argsFile, '--detach'])).trim();
      expect((await waitForState(id, ['SUCCEEDED'])).state).toBe('SUCCEEDED');
    });
  });

  describe('reading', () => {
    let jobId: string;

    beforeAll(async () => {
      const spec = file('tagged.json', JSON.stringify({ name: 'tagged job', tags: ['cli-test'], tasks: [{ name: 'a', run: 'echo A' }, { name: 'b', run: 'echo B' }] }));
      const untagged = file('untagged.json', JSON.stringify({ name: 'untagged job', tasks: [{ name: 'a', run: 'true' }] }));
      await ok(['submit', untagged, '--wait']);
      jobId = (await ok(['submit', spec, '--wait'])).trim();
    });

    it('jobs prints a table and --json the API page', async () => {
      const table = await ok(['jobs']);
      expect(table.split('\n')[0]).toMatch(/^ID\s+NAME\s+STATE\s+PROGRESS\s+CREATED\s+OWNER$/);
      expect(table).toMatch(new RegExp(`${jobId}\\s+tagged job\\s+SUCCEEDED\\s+100%`));
      const page = await json<{ items: JobJson[]; nextCursor: string | null }>(['jobs', '--tag', 'cli-test']);
      expect(page.items.map((job) => job.id)).toEqual([jobId]);
      const two = await json<{ items: JobJson[] }>(['jobs', '--limit', '2', '--state', 'succeeded']);
      expect(two.items).toHaveLength(2);
      expect(two.items.every((job) => job.state === 'SUCCEEDED')).toBe(true);
      expect((await json<{ items: JobJson[] }>(['jobs', '-q', 'tagged'])).items.map((job) => job.id)).toContain(jobId);
    });

    it('get shows the job with its counts and tasks', async () => {
      const text = await ok(['get', jobId]);
      expect(text).toMatch(/^state:\s+SUCCEEDED \(100%\)$/m);
      expect(text).toMatch(/^items:\s+SUCCEEDED 2$/m);
      expect(text).toMatch(/^1\s+b\s+SUCCEEDED\s+a$/m);
    });

    it('lists executions in get and executions, and takes id prefixes everywhere (events print 12 characters)', async () => {
      const text = await ok(['get', jobId.slice(0, 8)]);
      expect(text).toMatch(new RegExp(`^id:\\s+${jobId}$`, 'm'));
      expect(text).toMatch(/^ID\s+ITEM\s+STATE\s+ATTEMPT\s+NODE\s+TIME$/m);
      expect(text).toMatch(/^[0-9a-f]{12}\s+a\s+SUCCEEDED\s+1\s+\S+\s+took \d+s$/m);
      const listed = await ok(['executions', jobId.slice(0, 6)]);
      expect(listed.split('\n')[0]).toMatch(/^ID\s+ITEM\s+STATE\s+ATTEMPT\s+NODE\s+TIME$/);
      expect(listed).toMatch(/^[0-9a-f]{12}\s+b\s+SUCCEEDED\s+1\s/m);
      const page = await json<{ items: ExecutionJson[]; nextCursor: string | null }>(['executions', jobId]);
      expect(page.items.filter((execution) => execution.kind === 'shell')).toHaveLength(2);
      const events = await ok(['events', jobId.slice(0, 12)]);
      const shortId = /\s([0-9a-f]{12})\s/.exec(events.split('\n').find((line) => /execution/.test(line)) ?? '')?.[1];
      expect(shortId).toBeDefined();
      expect(['A\n', 'B\n']).toContain(await ok(['logs', shortId!]));
      expect(await ok(['get', shortId!])).toMatch(new RegExp(`^id:\\s+${shortId}[0-9a-f]{20}$`, 'm'));
      const tooShort = await barge(['get', 'abcde']);
      expect(tooShort.code).toBe(1);
      expect(tooShort.stderr).toMatch(/at least 6/);
    });

    it("logs prints a job's executions, labelled, or one execution's", async () => {
      expect(await ok(['logs', jobId])).toBe('a | A\nb | B\n');
      const executions = await apiGet<{ items: ExecutionJson[] }>(`/v1/jobs/${jobId}/executions`);
      const b = executions.items.find((execution) => execution.kind === 'shell' && execution.state === 'SUCCEEDED' && execution.id);
      expect(b).toBeDefined();
      const single = await ok(['logs', b!.id]);
      expect(['A\n', 'B\n']).toContain(single);
      expect(await ok(['logs', b!.id, '-f'])).toBe(single);
    });

    it('logs -f follows a running job to its end', async () => {
      const ticking = file('tick.json', JSON.stringify({ name: 'ticking', tasks: [{ name: 'tick', run: 'for i in 1 2 3 4; do echo tick $i; sleep 0.3; done' }] }));
      const id = (await ok(['submit', ticking])).trim();
      expect(await ok(['logs', id, '-f'])).toBe('tick 1\ntick 2\ntick 3\ntick 4\n');
      expect((await apiGet<JobJson>(`/v1/jobs/${id}`)).state).toBe('SUCCEEDED');
    });

    it('events shows the history', async () => {
      const text = await ok(['events', jobId]);
      expect(text.split('\n')[0]).toMatch(/^TIME\s+KIND\s+STATE/);
      expect(text).toMatch(/SUCCEEDED/);
      const events = await json<{ items: Array<{ kind: string; state: string | null }> }>(['events', jobId]);
      expect(events.items.some((event) => event.state === 'SUCCEEDED')).toBe(true);
    });

    it('results writes to stdout with -o -, and says when it cannot write the file', async () => {
      const piped = await barge(['results', jobId, '-o', '-']);
      expect(piped.code, piped.stderr).toBe(0);
      expect(piped.stdout.charCodeAt(0)).toBe(0x1f);
      const nowhere = await barge(['results', jobId, '-o', join(work, 'no-such-folder', 'r.tar.gz')]);
      expect(nowhere.code).toBe(1);
      expect(nowhere.stderr).toMatch(/^barge: cannot write .*r\.tar\.gz: /m);
    });

    it('nodes and queues', async () => {
      const nodes = await json<{ items: Array<{ status: string; cpus: number }> }>(['nodes']);
      expect(nodes.items.some((node) => node.status === 'UP' && node.cpus === 8)).toBe(true);
      const table = await ok(['nodes']);
      expect(table).toMatch(/^ID\s+NAME\s+ROLE\s+STATUS\s+ISOLATION\s+CPUS/);
      // This server runs with --isolation none: the table says so, loudly.
      expect(table).toMatch(/barge up\s+standalone\s+UP\s+NONE\s/);
      // Work no worker can fit: the nodes listing says what waits and why.
      const spec = { name: 'too-wide', tasks: [{ name: 'wide', run: 'true', limits: { cpus: 64 } }] };
      const wide = (await ok(['submit', '-'], { input: JSON.stringify(spec) })).trim();
      const deadline = Date.now() + 30_000;
      let listing = '';
      while (!/^waiting: 1 execution: needs more than any worker has: 64 cpus \(largest worker: 8\)$/m.test(listing)) {
        if (Date.now() > deadline) throw new Error(`barge nodes never said why: ${listing}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
        listing = await ok(['nodes']);
      }
      await ok(['cancel', wide]);
      const queues = await json<{ items: unknown[] }>(['queues']);
      expect(Array.isArray(queues.items)).toBe(true);
      const text = await barge(['queues']);
      expect(text.code).toBe(0);
    });
  });

  describe('changing', () => {
    it('cancel, Ctrl-C while waiting, restart, rm', async () => {
      const sleeper = file('sleeper.json', JSON.stringify({ name: 'sleeper', tasks: [{ name: 'nap', run: 'sleep 30' }] }));
      const id = (await ok(['submit', sleeper])).trim();
      expect((await waitForState(id, ['RUNNING'])).state).toBe('RUNNING');

      // Ctrl-C stops the waiting, not the job.
      // Ctrl-C once it is waiting for sure: it has printed its first progress line.
      let interrupted = false;
      const interruptOnce = (pid: number, stderr: string): void => {
        if (interrupted || !PROGRESS_LINE.test(stderr)) return;
        interrupted = true;
        process.kill(pid, 'SIGINT');
      };
      const waited = await barge(['wait', id], { onStderr: interruptOnce });
      expect(waited.code).toBe(130);
      expect(waited.stderr).toContain(`job ${id} keeps running`);
      expect((await apiGet<JobJson>(`/v1/jobs/${id}`)).state).toBe('RUNNING');

      expect(await ok(['cancel', id])).toMatch(new RegExp(`^cancelled job ${id}`));
      expect((await waitForState(id, ['CANCELLED'])).state).toBe('CANCELLED');
      const waitCancelled = await barge(['wait', id]);
      expect(waitCancelled.code).toBe(1);
      expect(waitCancelled.stderr).toMatch(/CANCELLED/);

      const again = await barge(['cancel', id]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/^barge: /);

      const running = await barge(['rm', (await ok(['run', '--detach', '--', 'sleep', '30'])).trim()]);
      expect(running.code).toBe(1);

      expect(await ok(['restart', id])).toMatch(new RegExp(`^restarted job ${id}`));
      expect((await waitForState(id, ['RUNNING'])).state).toBe('RUNNING');
      await ok(['cancel', id]);
      await waitForState(id, ['CANCELLED']);

      expect(await ok(['rm', id])).toBe(`deleted job ${id}\n`);
      const gone = await barge(['get', id]);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toContain(`no job or execution has the id ${id}`);
    });

    it('restart --wait runs a failed job again', async () => {
      const failing = file('fail-again.json', JSON.stringify({ name: 'fails twice', tasks: [{ name: 'boom', run: 'exit 1' }] }));
      const first = await barge(['submit', failing, '--wait']);
      expect(first.code).toBe(1);
      const id = first.stdout.trim();
      const second = await barge(['restart', id, '--wait']);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/"fails twice" FAILED/);
    });
  });

  describe('credentials and errors', () => {
    it('takes BARGE_SERVER over the credentials file, and says when nothing answers', async () => {
      const deadPort = await freePort();
      const result = await barge(['jobs'], { env: { BARGE_SERVER: `http://127.0.0.1:${deadPort}` } });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`cannot reach barge at http://127.0.0.1:${deadPort} — is \`barge up\` running?`);
      // --server wins over BARGE_SERVER, and the file's token goes with the file's server.
      await ok(['jobs', '--server', server.url], { env: { BARGE_SERVER: `http://127.0.0.1:${deadPort}` } });
    });

    it('takes BARGE_TOKEN over the credentials file, and never prints a token', async () => {
      const secret = 'not-a-real-token-0123456789';
      const result = await barge(['jobs'], { env: { BARGE_TOKEN: secret } });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('BARGE_TOKEN');
      expect(result.stderr + result.stdout).not.toContain(secret);
      const saved = JSON.parse(readFileSync(join(configHome, 'barge', 'credentials.json'), 'utf8')) as { token: string };
      const flagged = await barge(['jobs', '--token', secret]);
      expect(flagged.stderr + flagged.stdout).not.toContain(saved.token);
      expect(flagged.stderr).toContain('--token');
    });

    it('without a token anywhere, says how to get one', async () => {
      const empty = join(work, 'empty-config');
      mkdirSync(empty);
      const result = await barge(['nodes', '--server', server.url], { env: { XDG_CONFIG_HOME: empty } });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/no token/);
    });

    it('reports a missing file and a malformed one', async () => {
      const missing = await barge(['submit', join(work, 'nope.yaml')]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^barge: cannot read .*nope\.yaml: no such file$/m);
      const broken = file('broken.yaml', 'name: [unclosed\ntasks: {\n');
      const malformed = await barge(['submit', broken, '--input', 'a=b']);
      expect(malformed.code).toBe(1);
      expect(malformed.stderr).toMatch(/broken\.yaml is not valid YAML/);
      const sentAnyway = await barge(['submit', broken]);
      expect(sentAnyway.code).toBe(1);
      expect(sentAnyway.stderr).toMatch(/^barge: /);
    });

    it('prints every validation problem with its field path', async () => {
      const invalid = file('invalid.yaml', ['name: bad', 'tasks:', '  - name: a', '    run: echo', '    retry:', '      limit: 99', '  - name: b', '    run: echo', '    timeout: soon', ''].join('\n'));
      const result = await barge(['submit', invalid]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^barge: /);
      expect(result.stderr).toMatch(/^ {2}- tasks\[0\]\.retry\.limit: /m);
      expect(result.stderr).toMatch(/^ {2}- tasks\[1\]\.timeout: /m);
    });

    it('rejects bad flags before talking to the server', async () => {
      const script = file('noop.sh', 'true\n');
      const result = await barge(['map', script, '--args-file', join(work, 'lines.txt'), '--concurrency', '0']);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('--concurrency');
      const empty = file('empty.txt', '\n  \n');
      const noLines = await barge(['map', script, '--args-file', empty]);
      expect(noLines.code).toBe(1);
      expect(noLines.stderr).toContain('has no non-empty lines');
    });
  });
});
