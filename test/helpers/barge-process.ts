/**
 * Runs the real `barge` binary (bin/barge.js over the compiled dist/) as a child process on a
 * free loopback port, and talks to it over HTTP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface BargeProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** Stops it by its pid: SIGTERM (drain) unless told otherwise, and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startBarge(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  options: { waitForHttp?: boolean; port?: number } = {},
): Promise<BargeProcess> {
  // A given port: a restart that clients must find where it was.
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, ['bin/barge.js', ...args, '--port', String(port)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  // A worker has no HTTP: wait for its start line instead.
  while (options.waitForHttp === false && !output.includes('worker ')) {
    if (child.exitCode !== null) throw new Error(`barge exited early (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`barge worker did not start within 20 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (; options.waitForHttp !== false; ) {
    if (child.exitCode !== null) throw new Error(`barge exited early (${child.exitCode}):\n${output}`);
    try {
      const response = await fetch(`${url}/v1/health`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`barge did not answer on ${url} within 20 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        try {
          process.kill(child.pid, signal);
        } catch {
          // Already gone between the check and the kill.
        }
      }
      return exited;
    },
  };
}

export async function api<T>(base: string, path: string, init: RequestInit = {}, token?: string): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.body && !headers['content-type']) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, { ...init, headers });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body: body as T };
}

/** A CLI command running in the background, with what it printed so far. */
export interface RunningCli {
  pid: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts `barge ARGS` from the repo's built bin with the given environment, without waiting for it. */
export function startCli(args: string[], env: NodeJS.ProcessEnv): RunningCli {
  const child = spawn(process.execPath, ['bin/barge.js', ...args], { cwd: join(import.meta.dirname, '..', '..'), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { pid: child.pid ?? 0, stdout: () => stdout, stderr: () => stderr, exited };
}
