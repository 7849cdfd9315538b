/**
 * LISTEN/NOTIFY for the PostgreSQL store: one dedicated connection (a pooled one would be handed
 * to other queries and miss notifications), opened on the first `listen` and reopened with
 * backoff when it drops, listening again on every channel that still has handlers. A notification
 * sent while the connection was down is lost; listeners poll as well, so that costs only latency.
 */
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { coerceError } from '../../core/errors.js';
import { type PgSettings, clientConfig, quoteIdent } from './connection.js';

const RECONNECT_FIRST_MS = 250;
const RECONNECT_MAX_MS = 10_000;

export class PgListener {
  private readonly handlers = new EventEmitter();
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelayMs = RECONNECT_FIRST_MS;
  private closed = false;

  constructor(private readonly settings: PgSettings) {}

  /** The database-wide channel for a store channel: schemas sharing a database do not hear each other. */
  channelName(channel: string): string {
    return `barge.${this.settings.schema}.${channel}`;
  }

  async listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>> {
    const name = this.channelName(channel);
    const first = this.handlers.listenerCount(name) === 0;
    this.handlers.on(name, onMessage);
    if (first) {
      const client = await this.connection();
      await client.query(`LISTEN ${quoteIdent(name)}`);
    }
    return async () => {
      this.handlers.off(name, onMessage);
      if (this.handlers.listenerCount(name) === 0 && this.client) {
        await this.client.query(`UNLISTEN ${quoteIdent(name)}`).catch(() => undefined);
      }
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.handlers.removeAllListeners();
    const client = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private connection(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client(clientConfig(this.settings));
    client.on('notification', (message) => this.deliver(message.channel, message.payload ?? ''));
    client.on('error', () => this.dropped(client));
    client.on('end', () => this.dropped(client));
    await client.connect();
    if (this.closed) {
      await client.end();
      throw new Error('the store was closed');
    }
    this.client = client;
    this.reconnectDelayMs = RECONNECT_FIRST_MS;
    return client;
  }

  /** A failing handler must not stop the others, nor the connection. */
  private deliver(channel: string, payload: string): void {
    for (const handler of this.handlers.listeners(channel)) {
      try {
        (handler as (payload: string) => void)(payload);
      } catch (error) {
        process.emitWarning(coerceError(error));
      }
    }
  }

  private dropped(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    if (!this.closed) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.relisten().catch(() => {
        this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, RECONNECT_MAX_MS);
        if (!this.closed) this.scheduleReconnect();
      });
    }, this.reconnectDelayMs);
    this.reconnectTimer.unref();
  }

  private async relisten(): Promise<void> {
    const channels = this.handlers.eventNames().map(String);
    if (channels.length === 0 || this.closed) return;
    const client = await this.connection();
    for (const name of channels) await client.query(`LISTEN ${quoteIdent(name)}`);
  }
}
