/**
 * SlideRule's request signatures (sliderule-runner.md §5.2): an Ed25519 signature over
 * `<path_b64>:<timestamp>:<body_b64>`, both parts URL-safe base64 with padding, where the path
 * part is `host + path` (the Host header as received, the path without its query) and the body is
 * the raw text sent (an absent body is the empty string, §11 #5). The signature must verify with
 * one of the user's live registered ssh-ed25519 keys, the timestamp must be within ±60 s, and a
 * signature seen before inside that window is refused (replay).
 */
import type { Queries } from '../../../store/store.js';
import { livePubkey, verifyEd25519 } from '../../auth/pubkeys.js';

/** How far the timestamp may be from now, either way, in seconds (inclusive). */
export const SIGNATURE_WINDOW_SECONDS = 60;
const ED25519_SIGNATURE_BYTES = 64;

export interface SignedRequest {
  host: string;
  path: string;
  /** The raw body text; '' when there was none. */
  body: string;
  timestamp: string | undefined;
  signature: string | undefined;
}

/** Padded URL-safe base64, as Python's `base64.urlsafe_b64encode`. */
export function urlsafeBase64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64').replaceAll('+', '-').replaceAll('/', '_');
}

export function canonicalString(host: string, path: string, timestamp: string, body: string): string {
  return `${urlsafeBase64(host + path)}:${timestamp}:${urlsafeBase64(body)}`;
}

/**
 * Whether the request is signed by one of the user's live keys with a fresh, unseen timestamp.
 * Reasons stay here: the client only ever hears `invalid signature`.
 */
export async function signatureHolds(
  store: Queries,
  userId: string,
  request: SignedRequest,
  replays: ReplayGuard,
  nowMs = Date.now(),
): Promise<boolean> {
  const { timestamp, signature } = request;
  if (timestamp === undefined || signature === undefined) return false;
  const bytes = decodeSignature(signature);
  if (!bytes) return false;
  const message = Buffer.from(canonicalString(request.host, request.path, timestamp, request.body), 'utf8');
  const keys = await store.pubkeyList({ userId });
  const signer = keys.find((key) => verifyEd25519(key, message, bytes));
  if (!signer) return false;
  // The same rule as every face (expired key, disabled user) through the one lookup.
  const live = await livePubkey(store, signer.fingerprint, new Date(nowMs));
  if (!live || live.user.id !== userId) return false;
  if (!/^[+-]?\d+$/.test(timestamp)) return false;
  const seconds = Number(timestamp);
  if (Math.abs(nowMs / 1000 - seconds) > SIGNATURE_WINDOW_SECONDS) return false;
  return replays.firstUse(bytes.toString('base64'), seconds, nowMs);
}

function decodeSignature(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text.trim())) return null;
  const bytes = Buffer.from(text.trim(), 'base64');
  return bytes.length === ED25519_SIGNATURE_BYTES ? bytes : null;
}

/**
 * Signatures seen inside their window, in this process: a second use is a replay. An entry is kept
 * until its timestamp has left the window, after which the timestamp check refuses it anyway.
 * Ed25519 signatures are deterministic, so two requests with the same bytes and second collide:
 * the second is refused, as a replay would be.
 */
export class ReplayGuard {
  /** signature → when it may be forgotten (ms), in insertion order. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxEntries = 200_000) {}

  firstUse(signature: string, timestampSeconds: number, nowMs: number): boolean {
    this.forgetExpired(nowMs);
    if (this.seen.has(signature)) return false;
    if (this.seen.size >= this.maxEntries) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(signature, (timestampSeconds + SIGNATURE_WINDOW_SECONDS + 1) * 1000);
    return true;
  }

  private forgetExpired(nowMs: number): void {
    for (const [signature, until] of this.seen) {
      if (until > nowMs) return;
      this.seen.delete(signature);
    }
  }
}
