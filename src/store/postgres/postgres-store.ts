import type { Store } from '../store.js';

export class PostgresStore {
  static async open(_url: string): Promise<Store> {
    throw new Error('PostgreSQL store: not built yet');
  }
}
