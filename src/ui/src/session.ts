/**
 * The signed-in token lives in sessionStorage only: it is gone when the tab closes, it is never
 * written into a URL, and only this origin's scripts can read it.
 */
const KEY = 'barge.token';

export function savedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}
