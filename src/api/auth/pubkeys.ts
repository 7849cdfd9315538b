/**
 * Registered public keys: OpenSSH `ssh-ed25519` lines, for faces that verify Ed25519 request
 * signatures (SlideRule). A line is checked on registration (type, blob layout, key length), so a
 * stored key always loads; the fingerprint is what `ssh-keygen -l` prints.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { PubkeyRow, UserRow } from '../../core/model.js';
import type { Queries } from '../../store/store.js';

export const ED25519_KEY_TYPE = 'ssh-ed25519';
const ED25519_KEY_BYTES = 32;

export interface ParsedPublicKey {
  keyType: string;
  /** base64 of the OpenSSH blob */
  publicKey: string;
  fingerprint: string;
  /** The line's comment, if any (often user@host). */
  comment: string;
}

/** Parses one OpenSSH public key line; throws an Error saying what is wrong. */
export function parseOpenSshLine(line: string): ParsedPublicKey {
  const parts = line.trim().split(/\s+/);
  if (parts.length < 2 || parts[0] !== ED25519_KEY_TYPE) {
    throw new Error(`expected an OpenSSH line "${ED25519_KEY_TYPE} AAAA… [comment]" (only Ed25519 keys are accepted)`);
  }
  const [keyType, encoded, ...comment] = parts;
  const blob = Buffer.from(encoded, 'base64');
  if (blob.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) throw new Error('the key is not valid base64');
  rawEd25519Key(blob);
  return { keyType, publicKey: blob.toString('base64'), fingerprint: fingerprintOf(blob), comment: comment.join(' ') };
}

/** `SHA256:<unpadded base64>` of the blob, as `ssh-keygen -l` shows it. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The 32 key bytes of an ssh-ed25519 blob: string "ssh-ed25519", then string key. */
function rawEd25519Key(blob: Buffer): Buffer {
  const fields: Buffer[] = [];
  let at = 0;
  while (at < blob.length) {
    if (at + 4 > blob.length) throw new Error('the key blob is truncated');
    const length = blob.readUInt32BE(at);
    if (at + 4 + length > blob.length) throw new Error('the key blob is truncated');
    fields.push(blob.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  if (fields.length !== 2 || fields[0].toString('latin1') !== ED25519_KEY_TYPE || fields[1].length !== ED25519_KEY_BYTES) {
    throw new Error('the key blob is not an ssh-ed25519 key');
  }
  return fields[1];
}

export function publicKeyObject(row: Pick<PubkeyRow, 'publicKey'>): KeyObject {
  const raw = rawEd25519Key(Buffer.from(row.publicKey, 'base64'));
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/** true when `signature` is this key's Ed25519 signature of `message`. */
export function verifyEd25519(row: Pick<PubkeyRow, 'publicKey'>, message: Buffer, signature: Buffer): boolean {
  try {
    return verify(null, message, publicKeyObject(row), signature);
  } catch {
    return false;
  }
}

/** The OpenSSH line of a stored key (for listings). */
export function openSshLine(row: Pick<PubkeyRow, 'keyType' | 'publicKey' | 'name'>): string {
  return `${row.keyType} ${row.publicKey} ${row.name}`;
}

/**
 * The live registered key with this fingerprint and its user: null when unknown, expired, or its
 * user is disabled. For faces that verify signed requests.
 */
export async function livePubkey(store: Queries, fingerprint: string, now = new Date()): Promise<{ pubkey: PubkeyRow; user: UserRow } | null> {
  const found = await store.pubkeyGetByFingerprint(fingerprint);
  if (!found || found.user.disabled) return null;
  if (found.pubkey.expiresAt !== null && found.pubkey.expiresAt <= now.toISOString()) return null;
  return found;
}
