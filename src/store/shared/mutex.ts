/**
 * A first-come, first-served async lock. The SQLite store has one connection per process, so its
 * transactions (which await between statements) must take turns: a second BEGIN on the same
 * connection would fail, and a statement from another task would silently join the open one.
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  /** Runs `fn` once every earlier caller has finished, whether they resolved or threw. */
  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
