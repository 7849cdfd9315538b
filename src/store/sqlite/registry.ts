/** SQLite statements for tools, filesystems and their grants; SQL text in shared/registry-sql.ts. */
import type { FilesystemRow, GrantKind, GrantRow, ToolProgram, ToolRow } from '../../core/model.js';
import { encodeSqliteRow, encodeSqliteValue } from '../shared/codec.js';
import * as sql from '../shared/registry-sql.js';
import { FILESYSTEMS, GRANTS, TOOLS } from '../shared/registry-sql.js';
import type { SqliteConnection } from './connection.js';
import { insertSql } from './sql.js';

export function toolInsert(c: SqliteConnection, tool: ToolRow): void {
  c.run(insertSql(TOOLS), encodeSqliteRow(TOOLS, tool));
}

export function toolGet(c: SqliteConnection, id: string): ToolRow | undefined {
  return c.row(TOOLS, sql.getById('tools'), [id]);
}

export function toolGetByName(c: SqliteConnection, params: { owner: string; name: string }): ToolRow | undefined {
  return c.row(TOOLS, sql.getByOwnerAndName('tools'), [params.owner, params.name]);
}

export function toolList(c: SqliteConnection, params: { owner?: string; userName?: string }): ToolRow[] {
  if (params.userName === undefined) return c.rows(TOOLS, sql.listAll('tools'));
  return c.rows(TOOLS, sql.listVisible('tools', 'tool'), [params.owner ?? params.userName, params.userName]);
}

export function toolSetProgram(c: SqliteConnection, params: { id: string; program: ToolProgram }): boolean {
  return c.run(sql.TOOL_SET_PROGRAM, [encodeSqliteValue('json', params.program), params.id]) > 0;
}

export function toolDelete(c: SqliteConnection, id: string): boolean {
  c.run(sql.GRANTS_DELETE_OF, ['tool', id]);
  return c.run(sql.deleteById('tools'), [id]) > 0;
}

export function filesystemInsert(c: SqliteConnection, filesystem: FilesystemRow): void {
  c.run(insertSql(FILESYSTEMS), encodeSqliteRow(FILESYSTEMS, filesystem));
}

export function filesystemGet(c: SqliteConnection, id: string): FilesystemRow | undefined {
  return c.row(FILESYSTEMS, sql.getById('filesystems'), [id]);
}

export function filesystemGetByName(c: SqliteConnection, params: { owner: string; name: string }): FilesystemRow | undefined {
  return c.row(FILESYSTEMS, sql.getByOwnerAndName('filesystems'), [params.owner, params.name]);
}

export function filesystemList(c: SqliteConnection, params: { owner?: string; userName?: string }): FilesystemRow[] {
  if (params.userName === undefined) return c.rows(FILESYSTEMS, sql.listAll('filesystems'));
  return c.rows(FILESYSTEMS, sql.listVisible('filesystems', 'filesystem'), [params.owner ?? params.userName, params.userName]);
}

export function filesystemDelete(c: SqliteConnection, id: string): boolean {
  c.run(sql.GRANTS_DELETE_OF, ['filesystem', id]);
  return c.run(sql.deleteById('filesystems'), [id]) > 0;
}

export function grantInsert(c: SqliteConnection, grant: GrantRow): void {
  c.run(sql.GRANT_INSERT, [grant.kind, grant.resourceId, grant.userName, grant.createdAt]);
}

export function grantList(c: SqliteConnection, params: { kind: GrantKind; resourceId: string }): GrantRow[] {
  return c.rows(GRANTS, sql.GRANT_LIST, [params.kind, params.resourceId]);
}

export function grantDelete(c: SqliteConnection, params: { kind: GrantKind; resourceId: string; userName: string }): boolean {
  return c.run(sql.GRANT_DELETE, [params.kind, params.resourceId, params.userName]) > 0;
}

export function grantExists(c: SqliteConnection, params: { kind: GrantKind; resourceId: string; userName: string }): boolean {
  return c.get(sql.GRANT_EXISTS, [params.kind, params.resourceId, params.userName]) !== undefined;
}
