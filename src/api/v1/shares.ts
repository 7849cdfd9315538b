/**
 * /v1/jobs/{id}/shares: the users a job is shared with. A user it is shared with sees and
 * controls it as its owner does (read, logs, events, download, cancel, restart, delete), within
 * their role; only its owner and admins change who it is shared with.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { NotFoundError } from '../../core/errors.js';
import type { JobRow, ShareRow } from '../../core/model.js';
import { canSee, principalOf, type Principal } from '../auth/index.js';
import { forbidden } from '../errors.js';
import { NewShare, ShareList, UserName } from './account-schemas.js';
import { ownedJob, type V1Options } from './context.js';
import { errorResponses, IdOrPrefix, IdParams } from './schemas.js';

const tags = ['jobs'];
const ShareParams = Type.Object({ id: IdOrPrefix, user: UserName });
type ShareParams = Static<typeof ShareParams>;

export const shareRoutes: FastifyPluginAsync<V1Options> = async (app, { engine }) => {
  const { store } = engine;

  /** The job, when the caller may change its shares: its owner or an admin (others who see it: 403). */
  async function shareableJob(principal: Principal, id: string): Promise<JobRow> {
    const job = await ownedJob(engine, principal, id);
    if (!canSee(principal, job.owner)) throw forbidden('only the owner of a job and admins can change who it is shared with');
    return job;
  }

  app.get<{ Params: IdParams }>(
    '/jobs/:id/shares',
    { schema: { tags, summary: 'Who a job is shared with', params: IdParams, response: { 200: ShareList, ...errorResponses } } },
    async (request) => {
      const job = await ownedJob(engine, principalOf(request), request.params.id);
      return { items: (await store.shareList({ jobId: job.id })).map(shareBody) };
    },
  );

  app.post<{ Params: IdParams; Body: NewShare }>(
    '/jobs/:id/shares',
    {
      schema: { tags, summary: 'Share a job with a user (owner or admin; idempotent)', params: IdParams, body: NewShare, response: { 200: ShareList, ...errorResponses } },
    },
    async (request) => {
      const job = await shareableJob(principalOf(request), request.params.id);
      const { user } = request.body;
      if (!(await store.userGetByName(user))) throw new NotFoundError('user', user);
      await store.shareInsert({ jobId: job.id, userName: user, createdAt: new Date().toISOString() });
      return { items: (await store.shareList({ jobId: job.id })).map(shareBody) };
    },
  );

  app.delete<{ Params: ShareParams }>(
    '/jobs/:id/shares/:user',
    {
      schema: { tags, summary: 'Stop sharing a job with a user (owner or admin)', params: ShareParams, response: { 204: Type.Null({ description: 'unshared' }), ...errorResponses } },
    },
    async (request, reply) => {
      const job = await shareableJob(principalOf(request), request.params.id);
      if (!(await store.shareDelete({ jobId: job.id, userName: request.params.user }))) throw new NotFoundError('share', request.params.user);
      return reply.code(204).send();
    },
  );
};

function shareBody(row: ShareRow): { jobId: string; user: string; createdAt: string } {
  return { jobId: row.jobId, user: row.userName, createdAt: row.createdAt };
}
