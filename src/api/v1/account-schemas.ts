/**
 * Wire shapes of the account routes (accounts.ts, shares.ts): users, credentials, public keys,
 * shares, JWTs and the caller's own quotas and usage. Secrets appear only in the answers that
 * create them (`secret`, `token`), once.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ROLES } from '../../core/model.js';

const Timestamp = Type.String({ format: 'date-time' });
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
const Count = Type.Integer({ minimum: 0 });

export const UserName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$', description: 'letters, digits, . _ @ -' });
export const RoleName = Type.Unsafe<(typeof ROLES)[number]>({ type: 'string', enum: [...ROLES] });

export const Quotas = Type.Object(
  {
    runningExecutions: Type.Optional(Type.Integer({ minimum: 0, description: 'executions STARTING or RUNNING at once' })),
    queuedExecutions: Type.Optional(Type.Integer({ minimum: 0, description: 'executions waiting to run' })),
    computeSecondsPerPeriod: Type.Optional(Type.Integer({ minimum: 0 })),
    resultBytesPerPeriod: Type.Optional(Type.Integer({ minimum: 0, description: 'bytes of results downloaded' })),
    maxArrayItems: Type.Optional(Type.Integer({ minimum: 0, description: "the longest each list of this user's jobs (default: the server's --max-array-items)" })),
    periodSeconds: Type.Optional(Type.Integer({ minimum: 60, description: 'length of a usage period (default 86400)' })),
  },
  { additionalProperties: false, description: 'absent: no limit' },
);

export const User = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: RoleName,
  createdAt: Timestamp,
  disabled: Type.Boolean(),
  quotas: Quotas,
});
export type UserBody = Static<typeof User>;

export const UserParams = Type.Object({ name: UserName });
export type UserParams = Static<typeof UserParams>;

export const NewUser = Type.Object(
  { name: UserName, role: Type.Optional(RoleName), quotas: Type.Optional(Quotas) },
  { additionalProperties: false },
);
export type NewUser = Static<typeof NewUser>;

export const UserChange = Type.Object(
  { role: Type.Optional(RoleName), disabled: Type.Optional(Type.Boolean()), quotas: Type.Optional(Quotas) },
  { additionalProperties: false, minProperties: 1 },
);
export type UserChange = Static<typeof UserChange>;

export const UserList = Type.Object({ items: Type.Array(User) });
export const CreatedUser = Type.Object({ user: User, token: Type.String({ description: 'an API token, shown once' }) });

export const Usage = Type.Object({
  periodStart: Timestamp,
  periodEnd: Timestamp,
  runningExecutions: Count,
  queuedExecutions: Count,
  computeSeconds: Type.Number({ minimum: 0 }),
  resultBytes: Count,
});
export const Me = Type.Object({ id: Type.String(), name: Type.String(), role: RoleName, quotas: Quotas, usage: Usage });

export const CredentialKindName = Type.Union([Type.Literal('token'), Type.Literal('apikey')]);
export const Credential = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: CredentialKindName,
  prefix: Type.String({ description: 'the first characters of the secret, to recognise it' }),
  createdAt: Timestamp,
  expiresAt: NullableTimestamp,
  lastUsedAt: NullableTimestamp,
});
export type CredentialBody = Static<typeof Credential>;

export const NewCredential = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    kind: Type.Optional(CredentialKindName),
    expiresIn: Type.Optional(Type.String({ description: 'lifetime such as 24h or 30d (default: never expires)' })),
    user: Type.Optional(UserName),
  },
  { additionalProperties: false },
);
export type NewCredential = Static<typeof NewCredential>;

export const CredentialList = Type.Object({ items: Type.Array(Credential) });
export const CreatedCredential = Type.Object({ key: Credential, secret: Type.String({ description: 'shown once' }) });
export const UserQuery = Type.Object({ user: Type.Optional(UserName) }, { additionalProperties: false });
export type UserQuery = Static<typeof UserQuery>;
export const KeyParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export type KeyParams = Static<typeof KeyParams>;

export const Pubkey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  keyType: Type.String(),
  fingerprint: Type.String({ description: 'SHA256:… as ssh-keygen -l prints it' }),
  publicKey: Type.String({ description: 'the OpenSSH line' }),
  createdAt: Timestamp,
  expiresAt: NullableTimestamp,
  lastUsedAt: NullableTimestamp,
});
export type PubkeyBody = Static<typeof Pubkey>;
export const PubkeyList = Type.Object({ items: Type.Array(Pubkey) });
export const NewPubkey = Type.Object(
  {
    publicKey: Type.String({ maxLength: 2000, description: 'one OpenSSH line: ssh-ed25519 AAAA… [comment]' }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "default: the line's comment" })),
    expiresIn: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type NewPubkey = Static<typeof NewPubkey>;
export const PubkeyParams = Type.Object({ name: UserName, id: Type.String({ minLength: 1, maxLength: 64 }) });
export type PubkeyParams = Static<typeof PubkeyParams>;

export const Share = Type.Object({ jobId: Type.String(), user: Type.String(), createdAt: Timestamp });
export const ShareList = Type.Object({ items: Type.Array(Share) });
export const NewShare = Type.Object({ user: UserName }, { additionalProperties: false });
export type NewShare = Static<typeof NewShare>;

export const NewJwt = Type.Object(
  {
    audience: Type.String({ minLength: 1, maxLength: 200, description: "the face it is for, e.g. v1, tork, or an outside API's audience" }),
    ttl: Type.Optional(Type.String({ description: 'lifetime such as 24h (default 24h)' })),
    user: Type.Optional(UserName),
  },
  { additionalProperties: false },
);
export type NewJwt = Static<typeof NewJwt>;
export const IssuedJwt = Type.Object({ token: Type.String(), expiresAt: Timestamp });
