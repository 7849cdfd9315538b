/**
 * Tools, filesystems and their grants (ET Engine's registry, issue 10): tables and SQL text shared
 * by both stores. `?` placeholders; PostgreSQL numbers them.
 */
import type { FilesystemRow, GrantRow, ToolRow } from '../../core/model.js';
import type { Table } from './codec.js';

export const TOOLS: Table<ToolRow> = {
  name: 'tools',
  columns: [
    { field: 'id', column: 'id', kind: 'text' },
    { field: 'name', column: 'name', kind: 'text' },
    { field: 'description', column: 'description', kind: 'text' },
    { field: 'owner', column: 'owner', kind: 'text' },
    { field: 'program', column: 'program', kind: 'json' },
    { field: 'createdAt', column: 'created_at', kind: 'time' },
  ],
};

export const FILESYSTEMS: Table<FilesystemRow> = {
  name: 'filesystems',
  columns: [
    { field: 'id', column: 'id', kind: 'text' },
    { field: 'name', column: 'name', kind: 'text' },
    { field: 'owner', column: 'owner', kind: 'text' },
    { field: 'path', column: 'path', kind: 'text' },
    { field: 'createdAt', column: 'created_at', kind: 'time' },
  ],
};

export const GRANTS: Table<GrantRow> = {
  name: 'grants',
  columns: [
    { field: 'kind', column: 'kind', kind: 'text' },
    { field: 'resourceId', column: 'resource_id', kind: 'text' },
    { field: 'userName', column: 'user_name', kind: 'text' },
    { field: 'createdAt', column: 'created_at', kind: 'time' },
  ],
};

/** Which registry table a grant kind names; never built from input. */
export const REGISTRY_TABLES = { tool: 'tools', filesystem: 'filesystems' } as const;

export const getById = (table: string): string => `SELECT * FROM ${table} WHERE id = ?`;
export const getByOwnerAndName = (table: string): string => `SELECT * FROM ${table} WHERE owner = ? AND name = ?`;
/** Owned by the user, or shared with them; oldest first (storage order). */
export const listVisible = (table: string, kind: string): string => `
  SELECT * FROM ${table} WHERE owner = ?
     OR id IN (SELECT resource_id FROM grants WHERE kind = '${kind}' AND user_name = ?)
  ORDER BY created_at, id`;
export const listAll = (table: string): string => `SELECT * FROM ${table} ORDER BY created_at, id`;
export const deleteById = (table: string): string => `DELETE FROM ${table} WHERE id = ?`;

export const TOOL_SET_PROGRAM = `UPDATE tools SET program = ? WHERE id = ?`;
export const GRANT_INSERT = `INSERT INTO grants (kind, resource_id, user_name, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`;
export const GRANT_LIST = `SELECT * FROM grants WHERE kind = ? AND resource_id = ? ORDER BY created_at, user_name`;
export const GRANT_DELETE = `DELETE FROM grants WHERE kind = ? AND resource_id = ? AND user_name = ?`;
export const GRANT_EXISTS = `SELECT 1 AS found FROM grants WHERE kind = ? AND resource_id = ? AND user_name = ?`;
export const GRANTS_DELETE_OF = `DELETE FROM grants WHERE kind = ? AND resource_id = ?`;

/** Migration 9, in both dialects: `time` is text in SQLite and timestamptz in PostgreSQL. */
export function registrySchema(time: 'TEXT' | 'timestamptz', json: 'TEXT' | 'jsonb'): string {
  return `
CREATE TABLE tools (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  description TEXT NOT NULL,
  owner       TEXT NOT NULL,
  program     ${json},
  created_at  ${time} NOT NULL,
  UNIQUE (owner, name)
);

CREATE TABLE filesystems (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  owner      TEXT NOT NULL,
  path       TEXT NOT NULL,
  created_at ${time} NOT NULL,
  UNIQUE (owner, name)
);

CREATE TABLE grants (
  kind        TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  user_name   TEXT NOT NULL,
  created_at  ${time} NOT NULL,
  PRIMARY KEY (kind, resource_id, user_name)
);
CREATE INDEX grants_by_user ON grants (user_name, kind);
`;
}
