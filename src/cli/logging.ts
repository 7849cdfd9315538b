/**
 * The server's own log (pino): one line per job state change and per worker and reaper event at
 * `info`, execution state changes at `debug`, HTTP requests at `debug` (Fastify's request lines),
 * on stderr, so stdout keeps the start lines (URL, first token) that people and scripts read.
 *
 * `--log-format json` writes pino's JSON lines; `pretty` (the default) writes
 * `12:00:01.234 INFO  job 3f2a… RUNNING` for people. What is logged is ids, states, counts and
 * names of nodes; never a token, a secret, a spec, inputs or an Authorization header (redacted
 * if a request line ever carries one).
 */
import { Writable } from 'node:stream';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import type { EventBus } from '../engine/events.js';

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export function makeLogger(level: LevelWithSilent, format: LogFormat, stream: NodeJS.WritableStream = process.stderr): Logger {
  const options = { level, base: undefined, redact: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'] };
  return format === 'json' ? pino(options, stream) : pino(options, prettyStream(stream));
}

/** Logs what the engine's event bus says: the process's one feed of state changes. Returns the unsubscribe. */
export function logEngineEvents(bus: EventBus, log: Logger): () => void {
  const offs = [
    bus.on('job:state', ({ jobId, state }) => log.info({ jobId, state }, `job ${jobId} ${state}`)),
    bus.on('execution:state', ({ executionId, jobId, state, nodeId }) =>
      log.debug({ executionId, jobId, state, nodeId }, `execution ${executionId} ${state}`),
    ),
    bus.on('reaper:rescued', ({ executionIds }) =>
      log.warn({ executionIds }, `reaper took back ${executionIds.length} execution(s) from lost workers`),
    ),
    bus.on('reaper:repaired', ({ jobIds }) => log.warn({ jobIds }, `reaper settled ${jobIds.length} stranded job(s)`)),
  ];
  return () => {
    for (const off of offs) off();
  };
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** pino's JSON lines as `HH:MM:SS.mmm LEVEL message`, with the error's message when there is one. */
function prettyStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) {
        if (text.trim() !== '') out.write(`${prettyLine(text)}\n`);
      }
      done();
    },
  });
}

export function prettyLine(json: string): string {
  let entry: { level?: number; time?: number; msg?: string; err?: { message?: string }; req?: { method?: string; url?: string }; res?: { statusCode?: number } };
  try {
    entry = JSON.parse(json) as typeof entry;
  } catch {
    return json;
  }
  const time = new Date(entry.time ?? Date.now()).toISOString().slice(11, 23);
  const level = (LEVEL_NAMES[entry.level ?? 30] ?? 'INFO').padEnd(5);
  const request = entry.req ? ` ${entry.req.method ?? ''} ${entry.req.url ?? ''}` : '';
  const status = entry.res?.statusCode ? ` ${entry.res.statusCode}` : '';
  const error = entry.err?.message ? `: ${entry.err.message}` : '';
  return `${time} ${level} ${entry.msg ?? ''}${request}${status}${error}`;
}
