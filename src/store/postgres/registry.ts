/** PostgreSQL statements for tools, filesystems and their grants; SQL text in shared/registry-sql.ts. */
import type { FilesystemRow, GrantKind, GrantRow, ToolProgram, ToolRow } from '../../core/model.js';
import * as sql from '../shared/registry-sql.js';
import { FILESYSTEMS, GRANTS, TOOLS } from '../shared/registry-sql.js';
import { type PgExec, insertOneSql, insertValues } from './connection.js';
import { numbered } from './users.js';

export async function toolInsert(x: PgExec, tool: ToolRow): Promise<void> {
  await x.run(insertOneSql(TOOLS), insertValues(TOOLS, tool));
}

export function toolGet(x: PgExec, id: string): Promise<ToolRow | undefined> {
  return x.row(TOOLS, numbered(sql.getById('tools')), [id]);
}

export function toolGetByName(x: PgExec, params: { owner: string; name: string }): Promise<ToolRow | undefined> {
  return x.row(TOOLS, numbered(sql.getByOwnerAndName('tools')), [params.owner, params.name]);
}

export function toolList(x: PgExec, params: { owner?: string; userName?: string }): Promise<ToolRow[]> {
  if (params.userName === undefined) return x.rows(TOOLS, sql.listAll('tools'));
  return x.rows(TOOLS, numbered(sql.listVisible('tools', 'tool')), [params.owner ?? params.userName, params.userName]);
}

export async function toolSetProgram(x: PgExec, params: { id: string; program: ToolProgram }): Promise<boolean> {
  return (await x.run(numbered(sql.TOOL_SET_PROGRAM), [JSON.stringify(params.program), params.id])) > 0;
}

export async function toolDelete(x: PgExec, id: string): Promise<boolean> {
  await x.run(numbered(sql.GRANTS_DELETE_OF), ['tool', id]);
  return (await x.run(numbered(sql.deleteById('tools')), [id])) > 0;
}

export async function filesystemInsert(x: PgExec, filesystem: FilesystemRow): Promise<void> {
  await x.run(insertOneSql(FILESYSTEMS), insertValues(FILESYSTEMS, filesystem));
}

export function filesystemGet(x: PgExec, id: string): Promise<FilesystemRow | undefined> {
  return x.row(FILESYSTEMS, numbered(sql.getById('filesystems')), [id]);
}

export function filesystemGetByName(x: PgExec, params: { owner: string; name: string }): Promise<FilesystemRow | undefined> {
  return x.row(FILESYSTEMS, numbered(sql.getByOwnerAndName('filesystems')), [params.owner, params.name]);
}

export function filesystemList(x: PgExec, params: { owner?: string; userName?: string }): Promise<FilesystemRow[]> {
  if (params.userName === undefined) return x.rows(FILESYSTEMS, sql.listAll('filesystems'));
  return x.rows(FILESYSTEMS, numbered(sql.listVisible('filesystems', 'filesystem')), [params.owner ?? params.userName, params.userName]);
}

export async function filesystemDelete(x: PgExec, id: string): Promise<boolean> {
  await x.run(numbered(sql.GRANTS_DELETE_OF), ['filesystem', id]);
  return (await x.run(numbered(sql.deleteById('filesystems')), [id])) > 0;
}

export async function grantInsert(x: PgExec, grant: GrantRow): Promise<void> {
  await x.run(numbered(sql.GRANT_INSERT), [grant.kind, grant.resourceId, grant.userName, grant.createdAt]);
}

export function grantList(x: PgExec, params: { kind: GrantKind; resourceId: string }): Promise<GrantRow[]> {
  return x.rows(GRANTS, numbered(sql.GRANT_LIST), [params.kind, params.resourceId]);
}

export async function grantDelete(x: PgExec, params: { kind: GrantKind; resourceId: string; userName: string }): Promise<boolean> {
  return (await x.run(numbered(sql.GRANT_DELETE), [params.kind, params.resourceId, params.userName])) > 0;
}

export async function grantExists(x: PgExec, params: { kind: GrantKind; resourceId: string; userName: string }): Promise<boolean> {
  return (await x.get(numbered(sql.GRANT_EXISTS), [params.kind, params.resourceId, params.userName])) !== undefined;
}
