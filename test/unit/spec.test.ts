import { describe, expect, it } from 'vitest';
import { ValidationError, type Problem } from '../../src/core/errors.js';
import { dependencyIndices, parseSpecText, taskKind, validateJobSpec, type ValidateOptions } from '../../src/core/spec.js';
import type { JobSpec, TaskSpec } from '../../src/core/spec-types.js';

type Json = Record<string, unknown>;

/** A job around the given tasks. */
const job = (tasks: unknown[], extra: Json = {}): Json => ({ name: 'test job', tasks, ...extra });
/** A job with one task: `{ name: 'test task', ...fields }`. */
const withTask = (fields: Json, extra: Json = {}): Json => job([{ name: 'test task', ...fields }], extra);

function problemsOf(input: unknown, options?: ValidateOptions): Problem[] {
  try {
    validateJobSpec(input, options);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).problems;
  }
}

function expectValid(input: unknown, options?: ValidateOptions): JobSpec {
  expect(problemsOf(input, options)).toEqual([]);
  return validateJobSpec(input, options);
}

/** Exactly one problem, at `path`, whose message contains `message`. */
function expectProblem(input: unknown, path: string, message: string): void {
  const problems = problemsOf(input);
  expect(problems, JSON.stringify(problems)).toHaveLength(1);
  expect(problems[0].path).toBe(path);
  expect(problems[0].message).toContain(message);
}

describe('parseSpecText', () => {
  it('parses JSON and YAML', () => {
    expect(parseSpecText('{"name": "x", "tasks": []}', 'json')).toEqual({ name: 'x', tasks: [] });
    expect(parseSpecText('name: x\ntasks:\n  - name: t\n    run: echo hi\n', 'yaml')).toEqual({ name: 'x', tasks: [{ name: 't', run: 'echo hi' }] });
  });

  it('turns syntax errors into a ValidationError with line and column', () => {
    const cases: Array<[string, 'json' | 'yaml', RegExp]> = [
      ['{"name": "x", "tasks": [', 'json', /^not valid JSON: .+/],
      ['{\n "a": 1,\n "b" 2}', 'json', /^not valid JSON: .*line 3, column \d+/],
      ['name: [unclosed\ntasks: {', 'yaml', /^not valid YAML: .*line 2, column 1$/],
      ['a: b: c', 'yaml', /^not valid YAML: .*line 1, column 4$/],
      ['name: a\nname: b\n', 'yaml', /^not valid YAML: Map keys must be unique at line 2, column 1$/],
      ['a: 1\n---\nb: 2\n', 'yaml', /^not valid YAML: .*multiple documents/],
    ];
    for (const [text, format, message] of cases) {
      try {
        parseSpecText(text, format);
        throw new Error(`expected ${JSON.stringify(text)} to fail`);
      } catch (error) {
        expect(error, text).toBeInstanceOf(ValidationError);
        const { problems } = error as ValidationError;
        expect(problems).toHaveLength(1);
        expect(problems[0].path).toBe('');
        expect(problems[0].message, text).toMatch(message);
      }
    }
  });

  it('refuses an empty document', () => {
    expect(() => parseSpecText('  \n', 'yaml')).toThrow('empty document');
    expect(() => parseSpecText('', 'json')).toThrow(ValidationError);
  });

  it('refuses a YAML alias bomb quickly', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const [name, previous] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e'], ['g', 'f'], ['h', 'g'], ['i', 'h']]) {
      lines.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
    }
    lines.push('name: bomb', 'tasks: [{name: t, run: "true", env: {X: *i}}]');
    const started = Date.now();
    expect(() => parseSpecText(lines.join('\n'), 'yaml')).toThrow(/not valid YAML: .*alias/i);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('still allows a few aliases and merge keys', () => {
    const text = 'env: &env {A: "1"}\nname: x\ntasks:\n  - name: t\n    env: *env\n  - name: u\n    env: {<<: *env, B: "2"}\n';
    expect(parseSpecText(text, 'yaml')).toMatchObject({ tasks: [{ env: { A: '1' } }, { env: { A: '1', B: '2' } }] });
  });

  it('answers a ValidationError, not a crash, to deeply nested YAML', () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    expect(() => parseSpecText(`name: deep\ninputs:\n  x: ${deep}\n`, 'yaml')).toThrow(ValidationError);
  });
});

describe('Tork black-box validation checks (tork.md §12)', () => {
  it('29: minimal job valid; no tasks invalid; task without name invalid; task without image valid', () => {
    expectValid(job([{ name: 'test task', image: 'some:image' }]));
    expectProblem(job([]), 'tasks', 'at least one task');
    expectProblem({ name: 'test job' }, 'tasks', 'required');
    expectProblem(job([{ image: 'some:image' }]), 'tasks[0].name', 'required');
    expectValid(job([{ name: 'some task' }]));
    expectValid(job([{ name: 'test task', var: 'somevar' }]));
  });

  it('30: queue urgent valid; x-788222 invalid; jobs invalid', () => {
    expectValid(withTask({ image: 'some:image', queue: 'urgent' }));
    expectProblem(withTask({ image: 'some:image', queue: 'x-788222' }), 'tasks[0].queue', 'must not start with "x-"');
    expectProblem(withTask({ image: 'some:image', queue: 'jobs' }), 'tasks[0].queue', '"jobs" is a reserved queue name');
    for (const reserved of ['pending', 'started', 'completed', 'error', 'heartbeat', 'logs', 'progress', 'redeliveries']) {
      expectProblem(withTask({ queue: reserved }), 'tasks[0].queue', 'reserved');
    }
  });

  it('31: var of 64 characters valid; 65 invalid', () => {
    expectValid(withTask({ var: 'a'.repeat(64) }));
    expectProblem(withTask({ var: 'a'.repeat(65) }), 'tasks[0].var', 'at most 64 characters');
  });

  it('32: defaults.timeout not a duration invalid, naming the field; retry.limit outside 1..10 invalid', () => {
    expectProblem(withTask({ image: 'some:image' }, { defaults: { timeout: '1234' } }), 'defaults.timeout', 'missing unit');
    expectValid(withTask({ image: 'some:image', retry: { limit: 5 } }));
    expectValid(withTask({ retry: { limit: 1 } }));
    expectValid(withTask({ retry: { limit: 10 } }));
    expectProblem(withTask({ image: 'some:image', retry: { limit: 50 } }), 'tasks[0].retry.limit', 'must be 1..10');
    expectProblem(withTask({ retry: { limit: 0 } }), 'tasks[0].retry.limit', 'must be 1..10');
    expectValid(withTask({ image: 'some:image', timeout: '6h' }));
  });

  it('33: parallel with each invalid; each.list 1+1 and {{1+1}} valid, {1+1 invalid', () => {
    const child = { name: 'test task', image: 'some task' };
    expectValid(withTask({ each: { list: '5+5', task: child } }));
    expectValid(withTask({ parallel: { tasks: [child] } }));
    const both = problemsOf(withTask({ image: 'some:image', timeout: '6h', each: { list: 'some expression', task: child }, parallel: { tasks: [child] } }));
    expect(both.map((p) => p.path)).toEqual(expect.arrayContaining(['tasks[0]', 'tasks[0].image', 'tasks[0].timeout']));
    expect(both.find((p) => p.path === 'tasks[0]')?.message).toBe('parallel and each are mutually exclusive');
    expectProblem(withTask({ parallel: { tasks: [child] }, subjob: { name: 's', tasks: [child] } }), 'tasks[0]', 'parallel and subjob are mutually exclusive');
    expectValid(withTask({ each: { list: '1+1', task: child } }));
    expectValid(withTask({ each: { list: '{{1+1}}', task: child } }));
    expectProblem(withTask({ each: { list: '{1+1', task: child } }), 'tasks[0].each.list', '(1:');
  });

  it('34: sub-job webhook without url invalid', () => {
    const subjob = (webhooks: unknown[]) => withTask({ subjob: { name: 'test sub job', webhooks, tasks: [{ name: 'test task', image: 'some task' }] } });
    expectValid(subjob([{ url: 'http://example.com' }]));
    expectProblem(subjob([{ url: '' }]), 'tasks[0].subjob.webhooks[0].url', 'required');
    expectProblem(subjob([{ headers: { a: 'b' } }]), 'tasks[0].subjob.webhooks[0].url', 'required');
  });

  it('35: mount rules', () => {
    const mount = (m: Json) => withTask({ image: 'some:image', run: 'some script', mounts: [m] });
    expectProblem(mount({ type: '', target: '' }), 'tasks[0].mounts[0].type', 'required');
    expectValid(mount({ type: 'volume', target: '/some/target' }));
    expectValid(mount({ type: 'custom', target: '/some/target' }));
    expectProblem(mount({ type: 'volume', source: '/src', target: '/some/target' }), 'tasks[0].mounts[0].source', 'must be empty for a volume mount');
    expectProblem(mount({ type: 'volume' }), 'tasks[0].mounts[0].target', 'required for a volume mount');
    expectProblem(mount({ type: 'bind', source: '', target: '/some/target' }), 'tasks[0].mounts[0].source', 'required for a bind mount');
    expectValid(mount({ type: 'bind', source: '/some/source', target: '/some/target' }));
    expectProblem(mount({ type: 'bind', source: '/some#/source', target: '/some/target' }), 'tasks[0].mounts[0].source', 'may only hold');
    expectProblem(mount({ type: 'bind', source: '/some/source', target: '/some:/target' }), 'tasks[0].mounts[0].target', 'may only hold');
    expectProblem(mount({ type: 'bind', source: '/some/source', target: '/tork' }), 'tasks[0].mounts[0].target', '/tork is reserved');
    expectValid(mount({ type: 'bind', source: 'bucket=some-bucket path=/mnt/some-path', target: '/some/path' }));
    expectValid(mount({ type: 'tmpfs', target: '/tmp', opts: { size: '64m' } }));
  });

  it('9 and 6: a job without name, and unknown keys, are refused', () => {
    expectProblem({ tasks: [{ name: 't' }] }, 'name', 'required');
    expectProblem(withTask({ image: 'some:image', nosuch: 1 }), 'tasks[0].nosuch', 'unknown field');
  });

  it('the documented-but-rejected keys stay rejected', () => {
    expectProblem(withTask({}, { defaults: { limits: { cpu: 1 } } }), 'defaults.limits.cpu', 'unknown field');
    expectProblem(withTask({ retry: { limit: 2, initialDelay: '1s' } }), 'tasks[0].retry.initialDelay', 'unknown field');
  });
});

describe('validateJobSpec: reporting', () => {
  it('reports every problem at once, each with its field path', () => {
    const input = {
      colour: 'blue',
      tasks: [
        { name: 'too many retries', run: 'true', retry: { limit: 99 }, speed: 'fast' },
        { run: 'no name' },
        { name: 'late', timeout: 'soon', priority: 12 },
        { name: 'bad each', each: { task: { name: 'child', workdir: 'w'.repeat(300) } } },
      ],
      defaults: { priority: -1 },
    };
    const problems = problemsOf(input);
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'colour', message: 'unknown field' },
        { path: 'name', message: 'required' },
        { path: 'defaults.priority', message: 'must be 0..9' },
        { path: 'tasks[0].speed', message: 'unknown field' },
        { path: 'tasks[0].retry.limit', message: 'must be 1..10' },
        { path: 'tasks[1].name', message: 'required' },
        { path: 'tasks[2].timeout', message: 'time: invalid duration "soon" (write e.g. 30s, 5m, 1h30m)' },
        { path: 'tasks[2].priority', message: 'must be 0..9' },
        { path: 'tasks[3].each.list', message: 'required' },
        { path: 'tasks[3].each.task.workdir', message: 'must be at most 256 characters (got 300)' },
      ]),
    );
    expect(problems).toHaveLength(10);
    try {
      validateJobSpec(input);
    } catch (error) {
      expect((error as ValidationError).code).toBe('BARGE_E_VALIDATION');
      expect((error as Error).message).toContain('tasks[0].retry.limit: must be 1..10; ');
      expect((error as Error).message).toContain('tasks[2].timeout: time: invalid duration "soon"');
    }
  });

  it('refuses a document that is not an object', () => {
    for (const input of [null, undefined, 'text', 42, [1, 2]]) {
      expect(problemsOf(input), JSON.stringify(input)).toEqual([{ path: '', message: 'must be an object' }]);
    }
  });

  it('refuses a __proto__ key as an unknown field', () => {
    const input = JSON.parse('{"name": "x", "tasks": [{"name": "t"}], "__proto__": {"admin": true}}') as unknown;
    expect(problemsOf(input)).toEqual([{ path: '__proto__', message: 'unknown field' }]);
  });

  it('names map keys that are not plain names in brackets', () => {
    expectProblem(withTask({ env: { 'MY-VAR': ['x'] } }), 'tasks[0].env["MY-VAR"]', 'must be a string');
  });

  it('reports type errors for every field kind', () => {
    expectProblem(withTask({ cmd: 'echo hi' }), 'tasks[0].cmd', 'must be a list');
    expectProblem(withTask({ cmd: ['echo', null] }), 'tasks[0].cmd[1]', 'must not be empty');
    expectProblem(withTask({ args: [['nested']] }), 'tasks[0].args[0]', 'must be a string');
    expectProblem(withTask({ env: ['A=1'] }), 'tasks[0].env', 'must be a map of strings');
    expectProblem(withTask({ priority: '5' }), 'tasks[0].priority', 'must be an integer');
    expectProblem(withTask({ priority: 1.5 }), 'tasks[0].priority', 'must be an integer');
    expectProblem(withTask({ network: 'yes' }), 'tasks[0].network', 'must be a boolean');
    expectProblem(withTask({ retry: 3 }), 'tasks[0].retry', 'must be an object');
    expectProblem(withTask({ run: { script: 'x' } }), 'tasks[0].run', 'must be a string');
    expectProblem(job([{ name: 't' }], { tags: 'a,b' }), 'tags', 'must be a list');
    expectProblem({ name: 'x', tasks: { name: 't' } }, 'tasks', 'must be a list');
  });
});

describe('validateJobSpec: fields', () => {
  it('requires a name at every level', () => {
    expectProblem(withTask({ pre: [{ run: 'x' }] }), 'tasks[0].pre[0].name', 'required');
    expectProblem(withTask({ post: [{ name: '' }] }), 'tasks[0].post[0].name', 'required');
    expectProblem(withTask({ sidecars: [{ image: 'x' }] }), 'tasks[0].sidecars[0].name', 'required');
    expectProblem(withTask({ parallel: { tasks: [{ run: 'x' }] } }), 'tasks[0].parallel.tasks[0].name', 'required');
    expectProblem(withTask({ each: { list: '[1]', task: { run: 'x' } } }), 'tasks[0].each.task.name', 'required');
    expectProblem(withTask({ subjob: { tasks: [{ name: 't' }] } }), 'tasks[0].subjob.name', 'required');
    expectProblem(withTask({ subjob: { name: 's', tasks: [{ run: 'x' }] } }), 'tasks[0].subjob.tasks[0].name', 'required');
  });

  it('checks unknown keys at every level', () => {
    expectProblem(withTask({ pre: [{ name: 'p', queue: 'q' }] }), 'tasks[0].pre[0].queue', 'unknown field');
    expectProblem(withTask({ limits: { cpus: 1, disk: '1g' } }), 'tasks[0].limits.disk', 'unknown field');
    expectProblem(withTask({ each: { list: '[1]', task: { name: 'c' }, size: 3 } }), 'tasks[0].each.size', 'unknown field');
    expectProblem(withTask({ subjob: { name: 's', tasks: [{ name: 't' }], wait: true } }), 'tasks[0].subjob.wait', 'unknown field');
    expectProblem(job([{ name: 't' }], { webhooks: [{ url: 'http://x', method: 'PUT' }] }), 'webhooks[0].method', 'unknown field');
    expectProblem(job([{ name: 't' }], { wait: { timeout: '1s' } }), 'wait', 'unknown field');
  });

  it('coerces YAML scalars in string fields and maps by default, and not when asked', () => {
    const input = withTask({ env: { N: 5, B: true, E: null }, cmd: ['sleep', 1] }, { inputs: { count: 3 } });
    const spec = expectValid(input);
    expect(spec.tasks[0].env).toEqual({ N: '5', B: 'true', E: '' });
    expect(spec.tasks[0].cmd).toEqual(['sleep', '1']);
    expect(spec.inputs).toEqual({ count: '3' });
    const strict = problemsOf(input, { coerceScalars: false });
    expect(strict.map((p) => p.path)).toEqual(['inputs.count', 'tasks[0].cmd[1]', 'tasks[0].env.N', 'tasks[0].env.B']);
    expect(strict.every((p) => p.message === 'must be a string')).toBe(true);
  });

  it('checks queues on tasks, defaults and the job', () => {
    expectProblem(withTask({}, { defaults: { queue: 'x-mine' } }), 'defaults.queue', 'must not start with "x-"');
    expectProblem(withTask({}, { queue: 'heartbeat' }), 'queue', 'reserved');
    expectValid(withTask({ queue: 'gpu' }, { queue: 'batch', defaults: { queue: 'default' } }));
  });

  it('checks priority 0..9 on tasks, defaults and the job', () => {
    expectValid(withTask({ priority: 9 }, { priority: 0, defaults: { priority: 5 } }));
    expectProblem(withTask({ priority: 10 }), 'tasks[0].priority', 'must be 0..9');
    expectProblem(withTask({}, { priority: -1 }), 'priority', 'must be 0..9');
    expectProblem(withTask({}, { defaults: { priority: 10 } }), 'defaults.priority', 'must be 0..9');
  });

  it('checks workdir length and each.concurrency', () => {
    expectValid(withTask({ workdir: 'w'.repeat(256) }));
    expectProblem(withTask({ workdir: 'w'.repeat(257) }), 'tasks[0].workdir', 'at most 256 characters');
    const each = (concurrency: unknown) => withTask({ each: { list: '[1]', concurrency, task: { name: 'c' } } });
    expectValid(each(0));
    expectValid(each(99_999));
    expectProblem(each(100_000), 'tasks[0].each.concurrency', 'must be 0..99999');
    expectProblem(each(-1), 'tasks[0].each.concurrency', 'must be 0..99999');
  });

  it('requires retry.limit', () => {
    expectProblem(withTask({ retry: {} }), 'tasks[0].retry.limit', 'required');
    expectProblem(withTask({}, { defaults: { retry: { limit: 11 } } }), 'defaults.retry.limit', 'must be 1..10');
  });

  it('parses every duration', () => {
    expectValid(withTask({ timeout: '1m30s', pre: [{ name: 'p', timeout: '10s' }] }, { defaults: { timeout: '1h' }, autoDelete: { after: '24h' } }));
    expectProblem(withTask({ timeout: '10' }), 'tasks[0].timeout', 'time: missing unit in duration "10"');
    expectProblem(withTask({ timeout: '-5s' }), 'tasks[0].timeout', 'must not be negative');
    expectProblem(withTask({}, { autoDelete: { after: '1d' } }), 'autoDelete.after', 'time: unknown unit "d" in duration "1d"');
    expectProblem(withTask({}, { autoDelete: {} }), 'autoDelete.after', 'required');
    expectProblem(withTask({ pre: [{ name: 'p', timeout: 'x' }] }), 'tasks[0].pre[0].timeout', 'invalid duration');
    expectProblem(
      withTask({ subjob: { name: 's', tasks: [{ name: 't' }], autoDelete: { after: 'later' } } }),
      'tasks[0].subjob.autoDelete.after',
      'invalid duration',
    );
    expectProblem(withTask({ sidecars: [{ name: 's', probe: { path: '/health', port: 8080, timeout: 'x' } }] }), 'tasks[0].sidecars[0].probe.timeout', 'invalid duration');
  });

  it('compiles expressions: task if, job output, webhook if, each.list', () => {
    expectValid(withTask({ if: 'false' }, { output: '{{ tasks.build }}', webhooks: [{ url: 'http://x', if: "{{ job.State == 'COMPLETED' }}" }] }));
    expectValid(withTask({ if: '{{ inputs.run }}' }));
    expectValid(withTask({ if: false }));
    expectValid(withTask({}, { output: 'result: {{ tasks.a }} and {{ tasks.b }}' }));
    expectProblem(withTask({ if: '{{ 1 + }}' }), 'tasks[0].if', 'unexpected end of expression');
    expectProblem(withTask({}, { output: '{{ tasks. }}' }), 'output', 'unexpected end of expression');
    expectProblem(withTask({}, { output: 'hello world' }), 'output', 'unexpected "world"');
    expectProblem(withTask({}, { webhooks: [{ url: 'http://x', if: '{1+1' }] }), 'webhooks[0].if', '(1:');
    expectProblem(withTask({ each: { task: { name: 'c' } } }), 'tasks[0].each.list', 'required');
    expectProblem(withTask({ each: { list: '', task: { name: 'c' } } }), 'tasks[0].each.list', 'required');
  });

  it('accepts an unknown function at submit: it fails when evaluated (Tork check 39)', () => {
    expectValid(withTask({ run: 'true' }, { output: '{{ bad_function() }}' }));
  });

  it('compiles placeholders in templated fields', () => {
    expectValid(withTask({ name: 'step {{ item.index }}', image: 'ubuntu:{{ inputs.tag }}', env: { A: '{{ inputs.a }}' }, cmd: ['{{ inputs.x }}'] }));
    expectProblem(job([{ name: 'step {{ item. }}' }]), 'tasks[0].name', '{{ item. }}: ');
    expectProblem(withTask({ env: { A: '{{ 1 + }}' } }), 'tasks[0].env.A', 'unexpected end of expression');
    expectProblem(withTask({ args: ['{{ ( }}'] }), 'tasks[0].args[0]', 'unexpected');
  });

  it('makes composites exclusive and keeps execution fields off them', () => {
    const child = { name: 'c', run: 'true' };
    expectProblem(withTask({ each: { list: '[1]', task: child }, subjob: { name: 's', tasks: [child] } }), 'tasks[0]', 'each and subjob are mutually exclusive');
    const forbidden: Json = {
      image: 'i',
      cmd: ['c'],
      entrypoint: ['e'],
      run: 'r',
      lua: 'l',
      env: { A: 'b' },
      queue: 'q',
      pre: [child],
      post: [child],
      mounts: [{ type: 'volume', target: '/t' }],
      retry: { limit: 1 },
      limits: { cpus: 1 },
      timeout: '1s',
    };
    for (const [field, value] of Object.entries(forbidden)) {
      expectProblem(withTask({ [field]: value, parallel: { tasks: [child] } }), `tasks[0].${field}`, 'not allowed on a parallel task');
    }
    expectValid(withTask({ parallel: { tasks: [child] }, env: {}, cmd: [], description: 'fine', var: 'v', if: 'true' }));
  });

  it('validates parallel, each and sub-job tasks recursively', () => {
    expectProblem(withTask({ parallel: { tasks: [] } }), 'tasks[0].parallel.tasks', 'at least one task');
    expectProblem(withTask({ parallel: {} }), 'tasks[0].parallel.tasks', 'required');
    expectProblem(withTask({ parallel: { tasks: [{ name: 'c', parallel: { tasks: [{ name: 'd', retry: { limit: 0 } }] } }] } }), 'tasks[0].parallel.tasks[0].parallel.tasks[0].retry.limit', 'must be 1..10');
    expectProblem(withTask({ each: { list: '[1]' } }), 'tasks[0].each.task', 'required');
    expectProblem(withTask({ each: { list: '[1]', task: { name: 'c', queue: 'x-q' } } }), 'tasks[0].each.task.queue', 'must not start with "x-"');
    expectProblem(withTask({ each: { list: '[1]', var: 'my item', task: { name: 'c' } } }), 'tasks[0].each.var', 'must be a name');
    expectProblem(withTask({ subjob: { name: 's' } }), 'tasks[0].subjob.tasks', 'required');
    expectProblem(withTask({ subjob: { name: 's', tasks: [] } }), 'tasks[0].subjob.tasks', 'at least one task');
    expectProblem(withTask({ subjob: { name: 's', tasks: [{ name: 't', priority: 99 }] } }), 'tasks[0].subjob.tasks[0].priority', 'must be 0..9');
  });

  it('refuses composites nested absurdly deep', () => {
    let task: Json = { name: 'leaf' };
    for (let i = 0; i < 40; i++) task = { name: `p${i}`, parallel: { tasks: [task] } };
    const problems = problemsOf(job([task]));
    expect(problems).toHaveLength(1);
    expect(problems[0].message).toBe('tasks nested more than 32 deep');
  });

  it('checks limits with the duration.ts parsers', () => {
    expectValid(withTask({ limits: { cpus: '.5', memory: '512m' } }, { defaults: { limits: { cpus: 2, memory: 1024 } } }));
    expectProblem(withTask({ limits: { cpus: 'lots' } }), 'tasks[0].limits.cpus', 'not a number of cpus: "lots"');
    expectProblem(withTask({ limits: { cpus: 0 } }), 'tasks[0].limits.cpus', 'not a number of cpus: 0');
    expectProblem(withTask({ limits: { memory: '1x' } }), 'tasks[0].limits.memory', 'not a memory size: "1x"');
    expectProblem(withTask({}, { defaults: { limits: { memory: true } } }), 'defaults.limits.memory', 'must be a number of megabytes');
  });

  it('requires webhook urls to be http(s), unless they are templates', () => {
    expectValid(withTask({}, { webhooks: [{ url: 'https://hooks.example.com/x', event: 'task.StateChange', headers: { A: 'b' } }] }));
    expectValid(withTask({}, { webhooks: [{ url: '{{ inputs.hook }}' }] }));
    expectProblem(withTask({}, { webhooks: [{ url: 'ftp://example.com' }] }), 'webhooks[0].url', 'must be an http or https URL');
    expectProblem(withTask({}, { webhooks: [{ url: 'not a url' }] }), 'webhooks[0].url', 'must be an http or https URL');
    expectProblem(withTask({}, { webhooks: [{}] }), 'webhooks[0].url', 'required');
    expectProblem(withTask({}, { webhooks: [{ url: 'http://x', event: 'job.Done' }] }), 'webhooks[0].event', 'must be one of job.StateChange');
  });

  it('checks permissions name exactly one of user or role', () => {
    expectValid(withTask({}, { permissions: [{ user: 'ann' }, { role: 'ops' }] }));
    expectProblem(withTask({}, { permissions: [{ user: 'ann', role: 'ops' }] }), 'permissions[0]', 'exactly one of user or role');
    expectProblem(withTask({}, { permissions: [{}] }), 'permissions[0]', 'exactly one of user or role');
  });

  it('checks barge’s own fields: lua, args, network', () => {
    expectValid(withTask({ lua: 'print(arg[1])', args: ['a', 'b'], network: true }));
    expectProblem(withTask({ lua: 'print(1)', run: 'echo' }), 'tasks[0].run', 'cannot be combined with lua');
    expectProblem(withTask({ lua: 'print(1)', image: 'alpine' }), 'tasks[0].image', 'cannot be combined with lua');
    expectProblem(withTask({ args: 'a b' }), 'tasks[0].args', 'must be a list');
  });
});

describe('validateJobSpec: needs', () => {
  const graph = (tasks: Json[]) => job(tasks);

  it('accepts a graph', () => {
    const spec = expectValid(graph([{ name: 'a' }, { name: 'b', needs: ['a'] }, { name: 'c', needs: ['a', 'b'] }]));
    expect(spec.tasks[2].needs).toEqual(['a', 'b']);
  });

  it('refuses a need that names no task', () => {
    expectProblem(graph([{ name: 'lint' }, { name: 'a' }, { name: 'b' }, { name: 'test', needs: ['lint', 'build'] }]), 'tasks[3].needs[1]', 'unknown task "build"');
  });

  it('refuses a task that needs itself', () => {
    expectProblem(graph([{ name: 'a', needs: ['a'] }]), 'tasks[0].needs[0]', 'a task cannot need itself');
  });

  it('names the tasks of a cycle', () => {
    expect(problemsOf(graph([{ name: 'a', needs: ['b'] }, { name: 'b', needs: ['a'] }]))).toEqual([{ path: 'tasks', message: 'cycle in needs: a → b → a' }]);
    expect(problemsOf(graph([{ name: 'start' }, { name: 'x', needs: ['start', 'z'] }, { name: 'y', needs: ['x'] }, { name: 'z', needs: ['y'] }]))).toEqual([
      { path: 'tasks', message: 'cycle in needs: x → z → y → x' },
    ]);
    const chain = Array.from({ length: 10_000 }, (_, i) => ({ name: `t${i}`, needs: [`t${(i + 1) % 10_000}`] }));
    const problems = problemsOf(job(chain));
    expect(problems).toHaveLength(1);
    expect(problems[0].message).toMatch(/^cycle in needs: t0 → t1 → .* → t9999 → t0$/);
  });

  it('needs unique top-level names once any task uses needs', () => {
    expectProblem(graph([{ name: 'a' }, { name: 'a' }, { name: 'b', needs: ['a'] }]), 'tasks[1].name', 'duplicate task name "a"');
    expectValid(graph([{ name: 'a' }, { name: 'a' }, { name: 'b' }]));
  });

  it('allows needs only on top-level tasks (a sub-job’s tasks are top-level in the sub-job)', () => {
    expectProblem(withTask({ parallel: { tasks: [{ name: 'c', needs: ['test task'] }] } }), 'tasks[0].parallel.tasks[0].needs', 'only allowed on top-level tasks');
    expectProblem(withTask({ each: { list: '[1]', task: { name: 'c', needs: ['x'] } } }), 'tasks[0].each.task.needs', 'only allowed on top-level tasks');
    expectValid(withTask({ subjob: { name: 's', tasks: [{ name: 'x' }, { name: 'y', needs: ['x'] }] } }));
    expectProblem(withTask({ subjob: { name: 's', tasks: [{ name: 'y', needs: ['nope'] }] } }), 'tasks[0].subjob.tasks[0].needs[0]', 'unknown task "nope"');
  });
});

describe('validateJobSpec: normalization', () => {
  it('returns a new object with only known fields and without empty strings', () => {
    const input = withTask({ run: 'echo hi', image: '', queue: '', description: '' }, { description: '', output: '' });
    const spec = validateJobSpec(input);
    expect(spec).not.toBe(input);
    expect(spec).toEqual({ name: 'test job', tasks: [{ name: 'test task', run: 'echo hi' }] });
  });

  it('keeps empty list items and the order of fields', () => {
    const spec = validateJobSpec(withTask({ network: false, cmd: ['echo', ''], run: 'x' }));
    expect(spec.tasks[0]).toEqual({ name: 'test task', run: 'x', cmd: ['echo', ''], network: false });
    expect(Object.keys(spec.tasks[0])).toEqual(['name', 'run', 'cmd', 'network']);
  });

  it('is idempotent', () => {
    const input = parseSpecText(
      [
        'name: pipeline',
        'inputs: {count: 3}',
        'defaults: {retry: {limit: 2}, limits: {cpus: ".5", memory: 512m}, timeout: 5m}',
        'tasks:',
        '  - name: fan out',
        '    each: {list: "{{ sequence(1, 5) }}", var: n, concurrency: 2, task: {name: "item {{ n.index }}", run: echo $N, env: {N: "{{ n.value }}"}}}',
        '  - name: sub',
        '    subjob: {name: child, tasks: [{name: a, lua: "print(1)"}], output: "{{ tasks.a }}", detached: false}',
      ].join('\n'),
      'yaml',
    );
    const once = validateJobSpec(input);
    expect(validateJobSpec(once)).toEqual(once);
    expect(validateJobSpec(once, { coerceScalars: false })).toEqual(once);
  });

  it('validates Tork’s example specs', () => {
    const hello = 'name: hello job\ntasks:\n  - name: say hello\n    var: task1\n    image: ubuntu:mantic\n    run: |\n      echo -n hello world > $TORK_OUTPUT\n  - name: say goodbye\n    image: ubuntu:mantic\n    run: |\n      echo -n bye world\n';
    const parallel = 'name: a parallel job\ntasks:\n  - name: a parallel task\n    parallel:\n      tasks:\n        - image: ubuntu:mantic\n          run: sleep 2\n          name: sleep two\n        - image: ubuntu:mantic\n          run: sleep 1\n          name: sleep one\n';
    const each = 'name: a job with each\ninputs:\n  count: 5\ntasks:\n  - name: sample each task\n    each:\n      list: "{{ sequence(1,5) }}"\n      task:\n        image: ubuntu:mantic\n        env:\n          ITEM: "{{item.value}}"\n        name: output task item\n        run: echo -n $ITEM > $TORK_OUTPUT\n';
    const defaults = 'name: job defaults\ndefaults:\n  retry:\n    limit: 2\n  limits:\n    cpus: 1\n    memory: 500m\n  timeout: 10m\n  queue: default\n  priority: 3\ntasks:\n  - name: t\n    image: ubuntu:mantic\n    run: echo hi\n';
    for (const text of [hello, parallel, each, defaults]) expectValid(parseSpecText(text, 'yaml'));
  });
});

describe('taskKind', () => {
  it('classifies by composite key, then lua, then image, else shell', () => {
    const child: TaskSpec = { name: 'c' };
    expect(taskKind({ name: 't', parallel: { tasks: [child] } })).toBe('parallel');
    expect(taskKind({ name: 't', each: { list: '[1]', task: child } })).toBe('each');
    expect(taskKind({ name: 't', subjob: { name: 's', tasks: [child] } })).toBe('subjob');
    expect(taskKind({ name: 't', lua: 'print(1)' })).toBe('lua');
    expect(taskKind({ name: 't', image: 'alpine', run: 'x' })).toBe('container');
    expect(taskKind({ name: 't', run: 'echo' })).toBe('shell');
    expect(taskKind({ name: 't' })).toBe('shell');
  });
});

describe('dependencyIndices', () => {
  it('makes a sequence when no task uses needs, even with repeated names', () => {
    const spec = validateJobSpec(job([{ name: 'a' }, { name: 'a' }, { name: 'b' }]));
    expect(dependencyIndices(spec)).toEqual([[], [0], [1]]);
  });

  it('follows needs when any task uses them: tasks without needs start at once', () => {
    const spec = validateJobSpec(job([{ name: 'a' }, { name: 'b', needs: ['a'] }, { name: 'c' }, { name: 'd', needs: ['b', 'c'] }]));
    expect(dependencyIndices(spec)).toEqual([[], [0], [], [1, 2]]);
  });
});
