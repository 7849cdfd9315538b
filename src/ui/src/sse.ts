/**
 * Server-Sent Events read with fetch, so the token travels in the Authorization header (the
 * browser's EventSource can send no headers, and a token in a query string would end up in
 * logs and history). Reconnects after a dropped connection with Last-Event-ID, as EventSource
 * does, until the server sends its last event or the caller aborts.
 */
import { authHeaders } from './api.js';

export interface SseEvent {
  event: string;
  data: string;
  id: string | null;
}

export interface FollowOptions {
  signal: AbortSignal;
  onEvent: (event: SseEvent) => void;
  /** Told when the connection drops and when it is back. */
  onStatus?: (status: 'live' | 'reconnecting' | 'ended') => void;
  /** An event with this name ends the stream for good. */
  finalEvent: string;
}

const RETRY_MS = 1000;

export async function followSse(path: string, options: FollowOptions): Promise<void> {
  let lastId: string | null = null;
  let ended = false;
  while (!options.signal.aborted && !ended) {
    try {
      const headers: Record<string, string> = { ...authHeaders(), accept: 'text/event-stream' };
      if (lastId !== null) headers['last-event-id'] = lastId;
      const response = await fetch(path, { headers, signal: options.signal, cache: 'no-store', referrerPolicy: 'no-referrer' });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      options.onStatus?.('live');
      for await (const event of readEvents(response.body, options.signal)) {
        if (event.id !== null) lastId = event.id;
        options.onEvent(event);
        if (event.event === options.finalEvent) ended = true;
      }
      // A clean end without the final event: the server went away; resume where we were.
    } catch (error) {
      if (options.signal.aborted) return;
      if (error instanceof Error && /^HTTP 4\d\d$/.test(error.message)) {
        options.onStatus?.('ended');
        return;
      }
    }
    if (ended || options.signal.aborted) break;
    options.onStatus?.('reconnecting');
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  if (ended) options.onStatus?.('ended');
}

/** The text/event-stream format: fields per line, an empty line ends an event. */
async function* readEvents(body: ReadableStream<Uint8Array>, signal: AbortSignal): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const cancel = () => void reader.cancel().catch(() => undefined);
  signal.addEventListener('abort', cancel);
  let buffer = '';
  let event = 'message';
  let data: string[] = [];
  let id: string | null = null;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\n|\r/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        if (line === '') {
          if (data.length > 0) yield { event, data: data.join('\n'), id };
          event = 'message';
          data = [];
          id = null;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = text;
        else if (field === 'data') data.push(text);
        else if (field === 'id') id = text;
      }
    }
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}
