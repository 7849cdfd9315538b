/** Data that stays fresh by polling /v1, paused while the tab is hidden. */
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from './api.js';

export interface Polled<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  reload: () => void;
}

/**
 * Runs `load` now, whenever `key` changes, and every `intervalMs` while the page is visible
 * (0: once). A slow answer is never overtaken by an older one.
 */
export function usePoll<T>(load: (signal: AbortSignal) => Promise<T>, key: string, intervalMs: number): Polled<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError | Error>();
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const keyRef = useRef(key);

  useEffect(() => {
    if (keyRef.current !== key) {
      keyRef.current = key;
      setData(undefined);
      setError(undefined);
    }
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const value = await loadRef.current(controller.signal);
        if (!controller.signal.aborted) {
          setData(value);
          setError(undefined);
        }
      } catch (caught) {
        if (!controller.signal.aborted) setError(caught instanceof Error ? caught : new Error(String(caught)));
      }
      if (!controller.signal.aborted && intervalMs > 0) timer = setTimeout(schedule, intervalMs);
    };
    const schedule = () => {
      if (document.visibilityState === 'hidden') timer = setTimeout(schedule, intervalMs);
      else void run();
    };
    void run();
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [key, intervalMs, tick]);

  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, reload };
}
