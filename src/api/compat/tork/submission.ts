/**
 * From a request body to a barge JobSpec: pick the decoder by Content-Type, decode strictly, run
 * Tork's validator (one 400 whose message lists every failing field, one per line), convert.
 */
import type { FastifyRequest } from 'fastify';
import type { JobSpec } from '../../../core/spec-types.js';
import type { Queries } from '../../../store/store.js';
import { jobSpec } from './convert.js';
import { bodyFormatOf, decodeBody } from './decode.js';
import { badRequest } from './errors.js';
import { Job, ScheduledJob, type GoStruct, type JobInput, type ScheduledJobInput, type SubmitInput } from './input.js';
import { permissionUsers, validateInput } from './validate.js';

/**
 * Tork seeds one role, `public`; barge's roles are `admin` and `user`. A permission may name any
 * of them.
 */
const KNOWN_ROLES = ['public', 'admin', 'user'];

async function decodedAndValidated<T extends JobInput>(request: FastifyRequest, root: GoStruct, store: Queries): Promise<T> {
  const format = bodyFormatOf(request.headers['content-type']);
  const input = decodeBody<T>(request.body as string | undefined, format, root);
  const users = new Set<string>();
  for (const name of permissionUsers(input)) {
    if (await store.userGetByName(name)) users.add(name);
  }
  const problems = validateInput(input as Record<string, unknown>, root, {
    userExists: (name) => users.has(name),
    roleExists: (slug) => KNOWN_ROLES.includes(slug),
  });
  if (problems.length > 0) throw badRequest(problems.join('\n'));
  return input;
}

export async function decodedSubmission(request: FastifyRequest, store: Queries): Promise<{ input: SubmitInput; waitTimeout?: string }> {
  const input = await decodedAndValidated<SubmitInput>(request, Job, store);
  return { input, waitTimeout: input.wait?.timeout };
}

export async function decodedScheduledJob(request: FastifyRequest, store: Queries): Promise<{ input: ScheduledJobInput; cron: string }> {
  const input = await decodedAndValidated<ScheduledJobInput>(request, ScheduledJob, store);
  return { input, cron: input.schedule?.cron ?? '' };
}

export function convertedJob(input: JobInput): JobSpec {
  return jobSpec(input);
}
