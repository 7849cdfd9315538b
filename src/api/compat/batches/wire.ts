/** JSON answers of the Batches face: `application/json` (§9 #8), the SDK reads any. */
import type { FastifyReply } from 'fastify';
import type { Json } from '../../../core/model.js';

export function sendJson(reply: FastifyReply, status: number, body: Json): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(body));
}
