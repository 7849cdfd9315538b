import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLoopbackName } from '../../src/api/loopback-only.js';
import { loadConfig, reportSettingsOf } from '../../src/cli/config.js';

describe('server configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'barge-config-'));
  const file = join(dir, 'barge.yaml');
  writeFileSync(file, 'port: 9100\nhost: 127.0.0.2\ncpus: 3\nqueues: [a, b]\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has sane defaults', () => {
    const config = loadConfig({}, {}, join(dir, 'absent.yaml').replace('absent.yaml', 'none.yaml') && undefined);
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8000, open: false, queues: ['default'], drainGrace: 10, isolation: 'auto' });
    expect(config.data).toBe(resolve('.barge'));
    expect(config.db).toBe(`sqlite:${resolve('.barge', 'barge.db')}`);
  });

  it('takes flags over environment over barge.yaml', () => {
    expect(loadConfig({}, {}, file)).toMatchObject({ port: 9100, host: '127.0.0.2', cpus: 3, queues: ['a', 'b'] });
    expect(loadConfig({}, { BARGE_PORT: '9200', BARGE_QUEUES: 'x,y' }, file)).toMatchObject({ port: 9200, host: '127.0.0.2', queues: ['x', 'y'] });
    expect(loadConfig({ port: '9300' }, { BARGE_PORT: '9200' }, file)).toMatchObject({ port: 9300 });
  });

  it('reads the srtslurm switches: --srt-open and several --status-endpoint collectors, with the report settings they make', () => {
    expect(loadConfig({}, {})).toMatchObject({ srtOpen: false, statusEndpoint: [] });
    // Commander names `--status-endpoint <url...>` statusEndpoint and gathers repeats into an array.
    const flags = loadConfig({ srtOpen: true, statusEndpoint: ['http://a.example', 'http://b.example'], port: '9100' }, {});
    expect(flags).toMatchObject({ srtOpen: true, statusEndpoint: ['http://a.example', 'http://b.example'] });
    expect(reportSettingsOf(flags)).toEqual({ endpoints: ['http://a.example', 'http://b.example'], publicUrl: 'http://127.0.0.1:9100' });
    const env = loadConfig({}, { BARGE_STATUS_ENDPOINTS: 'http://a.example, http://b.example', BARGE_SRT_OPEN: '1', BARGE_PORT: '0' });
    expect(env).toMatchObject({ srtOpen: true, statusEndpoint: ['http://a.example', 'http://b.example'] });
    expect(reportSettingsOf(env).publicUrl).toBeUndefined();
  });

  it('reads the open-mode guest and the private-webhook switch from flags, environment and barge.yaml', () => {
    expect(loadConfig({}, {})).toMatchObject({ torkGuest: 'guest', allowPrivateWebhooks: false });
    expect(loadConfig({ allowPrivateWebhooks: true, torkGuest: 'visitor' }, {})).toMatchObject({ torkGuest: 'visitor', allowPrivateWebhooks: true });
    expect(loadConfig({}, { BARGE_ALLOW_PRIVATE_WEBHOOKS: '1', BARGE_TORK_GUEST: 'anon' })).toMatchObject({ torkGuest: 'anon', allowPrivateWebhooks: true });
    const yaml = join(dir, 'private.yaml');
    writeFileSync(yaml, 'allowPrivateWebhooks: true\n');
    expect(loadConfig({}, {}, yaml).allowPrivateWebhooks).toBe(true);
  });

  it('names what is wrong', () => {
    expect(() => loadConfig({ port: 'eighty' }, {})).toThrow(/port must be a non-negative number, got "eighty"/);
    expect(() => loadConfig({ isolation: 'docker' }, {})).toThrow(/isolation must be auto, bwrap or none/);
    expect(() => loadConfig({ cpus: '0' }, {})).toThrow(/cpus must be greater than 0/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'prot: 1\n');
    expect(() => loadConfig({}, {}, bad)).toThrow(/unknown setting "prot"/);
  });

  it('reads the sandbox and output settings from flags, BARGE_* and barge.yaml', () => {
    expect(loadConfig({}, {})).toMatchObject({ requireSandbox: false, taskUser: undefined, maxProcesses: 4096, maxOutputFiles: 10_000, maxOutputMb: 1024 });
    expect(loadConfig({ requireSandbox: true, taskUser: 'builder' }, {})).toMatchObject({ requireSandbox: true, taskUser: 'builder' });
    expect(loadConfig({}, { BARGE_REQUIRE_SANDBOX: '1', BARGE_MAX_PROCESSES: '64', BARGE_MAX_OUTPUT_FILES: '5', BARGE_MAX_OUTPUT_MB: '0.5' })).toMatchObject({
      requireSandbox: true,
      maxProcesses: 64,
      maxOutputFiles: 5,
      maxOutputMb: 0.5,
    });
    const yaml = join(dir, 'sandbox.yaml');
    writeFileSync(yaml, 'requireSandbox: true\ntaskUser: "4242:4242"\n');
    expect(loadConfig({}, {}, yaml)).toMatchObject({ requireSandbox: true, taskUser: '4242:4242' });
    expect(() => loadConfig({ requireSandbox: true, isolation: 'none' }, {})).toThrow(/--require-sandbox and --isolation none contradict/);
    expect(() => loadConfig({ maxProcesses: '0' }, {})).toThrow(/max-processes must be greater than 0/);
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.1.2.3', 'localhost', '::1'].every(isLoopbackName)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', 'example.com', '::'].some(isLoopbackName)).toBe(false);
  });
});
