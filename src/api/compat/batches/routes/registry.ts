/**
 * Tools and filesystems (batches.md §4.3; filesystems as the SDK's FilesystemsClient lists them):
 * registered by their owners, shared with other users through grants. barge's extensions: a
 * tool's program (`program` on create, `PUT /tools/<id>/program`), sharing routes, and an outside
 * folder for a filesystem (admins only).
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FilesystemRow, GrantKind, ToolProgram, ToolRow } from '../../../../core/model.js';
import { newId } from '../../../../engine/ids.js';
import { caller, filesystemFor, toolFor, type BatchesContext } from '../context.js';
import { BatchesError, accessDenied, invalidBody } from '../errors.js';
import { parseJsonBody } from '../submission.js';
import { filesystemView, toolDetailView, toolView, type Wire } from '../views.js';
import { sendJson } from '../wire.js';

interface IdParams {
  id: string;
}

/** Names the SDK's `connect(name)` finds, and that make a mount path. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const MAX_SCRIPT_BYTES = 512 * 1024;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requiredName(body: Record<string, unknown>, key: string): string {
  const name = body[key];
  if (typeof name !== 'string' || !NAME.test(name)) throw invalidBody(`${key} must be 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  return name;
}

function objectBody(body: unknown): Record<string, unknown> {
  const parsed = parseJsonBody(body);
  if (!isObject(parsed)) throw invalidBody('the body must be a JSON object');
  return parsed;
}

/** `{kind: 'bash'|'lua', script}` or `{kind: 'image', image, command}`. */
export function readProgram(value: unknown): ToolProgram {
  if (!isObject(value)) throw invalidBody('program must be an object');
  const text = (key: string): string => {
    const field = value[key];
    if (typeof field !== 'string' || field === '') throw invalidBody(`program.${key} must be a non-empty string`);
    if (Buffer.byteLength(field) > MAX_SCRIPT_BYTES) throw invalidBody(`program.${key} is larger than ${MAX_SCRIPT_BYTES} bytes`);
    return field;
  };
  switch (value.kind) {
    case 'bash':
    case 'lua':
      return { kind: value.kind, script: text('script') };
    case 'image':
      return { kind: 'image', image: text('image'), command: text('command') };
    default:
      throw invalidBody('program.kind must be bash, lua or image');
  }
}

export async function toolRoutes(app: FastifyInstance, context: BatchesContext): Promise<void> {
  const { store } = context.engine;

  app.get('/tools', async (request, reply) => {
    const tools = await store.toolList({ userName: caller(request).name });
    return sendJson(reply, 200, tools.map(toolView));
  });

  app.post('/tools', async (request, reply) => {
    const body = objectBody(request.body);
    const name = requiredName(body, 'tool_name');
    const description = body.tool_description ?? '';
    if (typeof description !== 'string') throw invalidBody('tool_description must be a string');
    const owner = caller(request).name;
    if (await store.toolGetByName({ owner, name })) throw new BatchesError(409, `Tool '${name}' already exists`);
    const tool: ToolRow = {
      id: newId(),
      name,
      description,
      owner,
      program: body.program === undefined ? null : readProgram(body.program),
      createdAt: new Date().toISOString(),
    };
    await store.toolInsert(tool);
    return sendJson(reply, 200, toolView(tool));
  });

  app.get<{ Params: IdParams }>('/tools/:id', async (request, reply) => {
    return sendJson(reply, 200, toolDetailView(await toolFor(context, request, request.params.id, 'use')));
  });

  app.delete<{ Params: IdParams }>('/tools/:id', async (request, reply) => {
    const tool = await toolFor(context, request, request.params.id, 'own');
    await store.toolDelete(tool.id);
    return reply.code(200).send();
  });

  // The program as JSON (`{kind, script}` / `{kind, image, command}`), or the raw script text with `?kind=bash|lua`.
  app.put<{ Params: IdParams; Querystring: { kind?: string; image?: string } }>('/tools/:id/program', async (request, reply) => {
    const tool = await toolFor(context, request, request.params.id, 'own');
    const { kind, image } = request.query;
    const text = typeof request.body === 'string' ? request.body : '';
    const program = kind === undefined ? readProgram(parseJsonBody(text)) : readProgram({ kind, script: text, image, command: text });
    await store.toolSetProgram({ id: tool.id, program });
    return sendJson(reply, 200, toolDetailView({ ...tool, program }));
  });

  shareRoutes(app, context, 'tool', '/tools', (request, id) => toolFor(context, request, id, 'own'));
}

export async function filesystemRoutes(app: FastifyInstance, context: BatchesContext): Promise<void> {
  const { store } = context.engine;

  app.get('/filesystems', async (request, reply) => {
    const filesystems = await store.filesystemList({ userName: caller(request).name });
    return sendJson(reply, 200, filesystems.map(filesystemView));
  });

  app.post('/filesystems', async (request, reply) => {
    const body = objectBody(request.body);
    const name = requiredName(body, 'filesystem_name');
    const principal = caller(request);
    if (await store.filesystemGetByName({ owner: principal.name, name })) throw new BatchesError(409, `Filesystem '${name}' already exists`);
    const id = newId();
    let path = join(context.filesystemsRoot, id);
    if (body.path !== undefined) {
      // An outside folder is a hole in every sandbox that mounts it: admins only.
      if (principal.role !== 'admin') throw accessDenied();
      path = await outsideFolder(body.path);
    } else {
      await mkdir(path, { recursive: true, mode: 0o755 });
    }
    const filesystem: FilesystemRow = { id, name, owner: principal.name, path, createdAt: new Date().toISOString() };
    await store.filesystemInsert(filesystem);
    return sendJson(reply, 200, filesystemView(filesystem));
  });

  app.get<{ Params: IdParams }>('/filesystems/:id', async (request, reply) => {
    return sendJson(reply, 200, filesystemView(await filesystemFor(context, request, request.params.id, 'use')));
  });

  // The row goes; a folder in barge's data goes with it, an outside one stays.
  app.delete<{ Params: IdParams }>('/filesystems/:id', async (request, reply) => {
    const filesystem = await filesystemFor(context, request, request.params.id, 'own');
    await store.filesystemDelete(filesystem.id);
    if (filesystem.path === join(context.filesystemsRoot, filesystem.id)) await rm(filesystem.path, { recursive: true, force: true });
    return reply.code(200).send();
  });

  shareRoutes(app, context, 'filesystem', '/filesystems', (request, id) => filesystemFor(context, request, id, 'own'));
}

async function outsideFolder(value: unknown): Promise<string> {
  if (typeof value !== 'string' || !isAbsolute(value) || normalize(value) !== value || value === '/') {
    throw invalidBody('path must be an absolute, normalised folder other than /');
  }
  const info = await stat(value).catch(() => null);
  if (!info?.isDirectory()) throw invalidBody(`path ${value} is not a folder on the server`);
  return value;
}

/** `GET|POST <base>/<id>/shares`, `DELETE <base>/<id>/shares/<user>`: the owner shares with users by name. */
function shareRoutes(
  app: FastifyInstance,
  context: BatchesContext,
  kind: GrantKind,
  base: string,
  owned: (request: FastifyRequest, id: string) => Promise<{ id: string }>,
): void {
  const { store } = context.engine;
  const view = (names: string[]): Wire => ({ shared_with: names });

  app.get<{ Params: IdParams }>(`${base}/:id/shares`, async (request, reply) => {
    const row = await owned(request, request.params.id);
    return sendJson(reply, 200, view((await store.grantList({ kind, resourceId: row.id })).map((g) => g.userName)));
  });

  app.post<{ Params: IdParams }>(`${base}/:id/shares`, async (request, reply) => {
    const row = await owned(request, request.params.id);
    const user = objectBody(request.body).user;
    if (typeof user !== 'string' || !(await store.userGetByName(user))) throw invalidBody('user must name an existing user');
    await store.grantInsert({ kind, resourceId: row.id, userName: user, createdAt: new Date().toISOString() });
    return sendJson(reply, 200, view((await store.grantList({ kind, resourceId: row.id })).map((g) => g.userName)));
  });

  app.delete<{ Params: IdParams & { user: string } }>(`${base}/:id/shares/:user`, async (request, reply) => {
    const row = await owned(request, request.params.id);
    await store.grantDelete({ kind, resourceId: row.id, userName: request.params.user });
    return reply.code(200).send();
  });
}
