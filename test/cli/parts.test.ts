/**
 * The CLI's pure parts, without a server: connection resolution, the SSE reader, spec building,
 * progress arithmetic and formatting.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { resolveConnection } from '../../src/cli/client.js';
import { saveCredentials, savedServers } from '../../src/cli/credentials.js';
import { formatDuration, formatError, table } from '../../src/cli/format.js';
import { capacityReason } from '../../src/cli/held.js';
import { progressLine, RateMeter, tallyJob } from '../../src/cli/progress.js';
import { argLines, mapSpec, mergeInputs, parseInputs, runSpec } from '../../src/cli/specs.js';
import { SseParser } from '../../src/cli/sse.js';
import type { Job, Node } from '../../src/cli/wire.js';

describe('resolveConnection', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function configHome(credentials?: object): string {
    const dir = mkdtempSync(join(tmpdir(), 'barge-cli-config-'));
    dirs.push(dir);
    if (credentials) {
      mkdirSync(join(dir, 'barge'));
      writeFileSync(join(dir, 'barge', 'credentials.json'), JSON.stringify(credentials));
    }
    return dir;
  }

  it('defaults to 127.0.0.1:8000 with no token', () => {
    expect(resolveConnection({}, { XDG_CONFIG_HOME: configHome() })).toEqual({ server: 'http://127.0.0.1:8000', savedServers: [] });
  });

  it('reads the credentials file under XDG_CONFIG_HOME, or HOME/.config', () => {
    const saved = { server: 'http://127.0.0.1:9001/', token: 'file-token' };
    expect(resolveConnection({}, { XDG_CONFIG_HOME: configHome(saved) })).toEqual({
      server: 'http://127.0.0.1:9001',
      token: 'file-token',
      tokenSource: 'credentials file',
    });
    const home = mkdtempSync(join(tmpdir(), 'barge-cli-home-'));
    dirs.push(home);
    mkdirSync(join(home, '.config', 'barge'), { recursive: true });
    writeFileSync(join(home, '.config', 'barge', 'credentials.json'), JSON.stringify(saved));
    expect(resolveConnection({}, { HOME: home }).token).toBe('file-token');
  });

  it('prefers flags over the environment over the file', () => {
    const env = {
      XDG_CONFIG_HOME: configHome({ server: 'http://127.0.0.1:9001', token: 'file-token' }),
      BARGE_SERVER: '127.0.0.1:9002',
      BARGE_TOKEN: 'env-token',
    };
    expect(resolveConnection({}, env)).toEqual({ server: 'http://127.0.0.1:9002', token: 'env-token', tokenSource: 'BARGE_TOKEN' });
    expect(resolveConnection({ server: 'http://127.0.0.1:9003', token: 'flag-token' }, env)).toEqual({
      server: 'http://127.0.0.1:9003',
      token: 'flag-token',
      tokenSource: 'flag',
    });
  });

  it("never sends the file's token to another server", () => {
    const env = { XDG_CONFIG_HOME: configHome({ server: 'http://127.0.0.1:9001', token: 'file-token' }), BARGE_SERVER: 'http://127.0.0.1:9009' };
    expect(resolveConnection({}, env)).toEqual({ server: 'http://127.0.0.1:9009', savedServers: ['http://127.0.0.1:9001'] });
  });

  it('keeps an entry per server and sends each its own token', () => {
    const env = { XDG_CONFIG_HOME: configHome() };
    saveCredentials({ server: '127.0.0.1:9001/', token: 'one' }, env);
    saveCredentials({ server: 'http://127.0.0.1:9002', token: 'two' }, env);
    expect(savedServers(env)).toEqual(['http://127.0.0.1:9002', 'http://127.0.0.1:9001']);
    expect(resolveConnection({}, env)).toMatchObject({ server: 'http://127.0.0.1:9002', token: 'two' });
    expect(resolveConnection({ server: 'http://127.0.0.1:9001' }, env)).toMatchObject({ token: 'one', tokenSource: 'credentials file' });
    saveCredentials({ server: 'http://127.0.0.1:9001', token: 'one again' }, env);
    expect(resolveConnection({ server: 'http://127.0.0.1:9002' }, env).token).toBe('two');
    expect(resolveConnection({}, env).token).toBe('one again');
  });
});

describe('SseParser', () => {
  it('splits named events across chunk boundaries and ignores comments', () => {
    const parser = new SseParser();
    const messages = [
      ...parser.push(': following\n\nid: 1\nevent: line\nda'),
      ...parser.push('ta: {"n":1}\r'),
      ...parser.push('\n\r\nevent: end\ndata: a\ndata: b\n\n'),
    ];
    expect(messages).toEqual([
      { event: 'line', data: '{"n":1}' },
      { event: 'end', data: 'a\nb' },
    ]);
  });
});

describe('specs', () => {
  it('parses --input pairs, keeping = in values', () => {
    expect(parseInputs(['a=1', 'b=x=y', 'c='])).toEqual({ a: '1', b: 'x=y', c: '' });
    expect(() => parseInputs(['novalue'])).toThrow(/key=value/);
  });

  it('merges inputs into YAML as YAML, keeping comments and quoting strings', () => {
    const text = '# my job\nname: hi\ninputs:\n  who: world\ntasks:\n  - name: t\n    run: echo\n';
    const merged = mergeInputs({ text, format: 'yaml', name: 'job.yaml' }, { who: 'you', n: '42' });
    expect(merged).toContain('# my job');
    expect(parse(merged)).toEqual({ name: 'hi', inputs: { who: 'you', n: '42' }, tasks: [{ name: 't', run: 'echo' }] });
  });

  it('merges inputs into JSON', () => {
    const merged = mergeInputs({ text: '{"name":"hi","tasks":[]}', format: 'json', name: 'job.json' }, { a: 'b' });
    expect(JSON.parse(merged)).toEqual({ name: 'hi', tasks: [], inputs: { a: 'b' } });
  });

  it('runs a command through "$@", moving template-looking arguments into inputs', () => {
    const spec = runSpec(['echo', "it's", '{{ job.id }}'], { cpus: 2 });
    expect(spec).toEqual({
      name: "run echo it's {{ job.id }}",
      inputs: { arg2: '{{ job.id }}' },
      tasks: [{ name: 'run', run: '"$@"', args: ['echo', "it's", '{{ inputs.arg2 }}'], limits: { cpus: 2 } }],
    });
  });

  it('maps a script over the non-empty lines of a file', () => {
    const lines = argLines('a b\r\n\n  \nc\n');
    expect(lines).toEqual(['a b', 'c']);
    expect(mapSpec('dir/job.lua', 'print(arg[2])', lines, { concurrency: 3, memory: 64 })).toEqual({
      name: 'map job.lua (2 lines)',
      inputs: { lines: '["a b","c"]' },
      tasks: [
        {
          name: 'map',
          each: {
            list: '{{ fromJSON(inputs.lines) }}',
            concurrency: 3,
            task: { name: 'job.lua', args: ['{{ item.value }}'], lua: 'print(arg[2])', limits: { memory: 64 } },
          },
        },
      ],
    });
  });
});

describe('progress', () => {
  const job = (counts: Job['counts'], state: Job['state'] = 'RUNNING'): Job =>
    ({
      id: 'j',
      state,
      counts,
      tasks: [{ id: 't', name: 'map', position: 0, state, needs: [] }],
      spec: { tasks: [{ name: 'map', each: {} }] },
    }) as unknown as Job;

  it('tallies the items the server counts', () => {
    expect(tallyJob(job({ SUCCEEDED: 12, FAILED: 1, RUNNING: 4, RUNNABLE: 3, PENDING: 2 }))).toEqual({
      done: 12,
      failed: 1,
      cancelled: 0,
      running: 4,
      waiting: 3,
      total: 22,
    });
  });

  it('measures a rate over recent samples and an ETA from it', () => {
    const meter = new RateMeter(10_000);
    meter.sample(0, 0);
    expect(meter.rate()).toBe(0);
    meter.sample(2_000, 4);
    expect(meter.rate()).toBe(2);
    expect(meter.etaMs(10)).toBe(5_000);
    meter.sample(20_000, 4);
    expect(meter.rate()).toBe(0);
    expect(meter.etaMs(10)).toBeUndefined();
  });

  it('prints the plain line', () => {
    expect(progressLine({ done: 12, failed: 1, cancelled: 0, running: 4, waiting: 0, total: 100 }, 3.2, 27_000)).toBe(
      '12/100 done, 1 failed, 4 running, 3.2/s, ETA 27s',
    );
  });

  it('says why items wait when capacity holds them back', () => {
    const tally = { done: 0, failed: 0, cancelled: 0, running: 2, waiting: 6, total: 8 };
    const node = { status: 'UP', role: 'standalone', queues: ['default'], cpus: 2, usedCpus: 2, memoryMb: 4096, usedMemoryMb: 512 } as Node;
    const why = capacityReason({ queue: 'default', cpus: 1, memoryMb: 256 }, [node]);
    expect(why).toBe('workers full: an item needs 1 cpus and 256 MB; free: 0 of 2 cpus, 3584 of 4096 MB');
    expect(progressLine(tally, 0, undefined, why)).toBe(`0/8 done, 0 failed, 2 running, 6 waiting (${why}), 0.0/s, ETA -`);
    expect(capacityReason({ queue: 'gpu', cpus: 1, memoryMb: 256 }, [node])).toBe('no worker serves queue "gpu"');
  });
});

describe('format', () => {
  it('lines up table columns', () => {
    expect(table(['A', 'BB'], [['xxx', 1], ['y', null]])).toBe('A    BB\nxxx  1\ny');
  });

  it('formats durations and errors with their field paths', () => {
    expect([formatDuration(4_000), formatDuration(185_000), formatDuration(7_500_000)]).toEqual(['4s', '3m05s', '2h05m']);
    expect(formatError('bad spec', [{ path: 'tasks[0].run', message: 'required' }])).toBe('barge: bad spec\n  - tasks[0].run: required');
    const details = [
      { path: 'tasks[0].retry.limit', message: 'must be 1..10' },
      { path: 'tasks[1].timeout', message: 'invalid duration' },
    ];
    expect(formatError('tasks[0].retry.limit: must be 1..10; tasks[1].timeout: invalid duration', details)).toBe(
      'barge: the server refused the request (2 problems):\n  - tasks[0].retry.limit: must be 1..10\n  - tasks[1].timeout: invalid duration',
    );
  });
});
