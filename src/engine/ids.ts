import { randomUUID } from 'node:crypto';

/** A 32-hex id (a UUIDv4 without dashes), the id format of jobs, tasks and executions. */
export function newId(): string {
  return randomUUID().replaceAll('-', '');
}

export function isId(value: string): boolean {
  return /^[0-9a-f]{32}$/.test(value);
}

/** The shortest id prefix accepted where a person types an id (as git's abbreviated hashes). */
export const MIN_ID_PREFIX = 6;
