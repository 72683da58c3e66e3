// SHA-256 helpers (node:crypto, hardware accelerated) and canonical JSON,
// the one encoding every hashed record goes through.
import { createHash } from 'node:crypto';

/** A lowercase hex SHA-256 digest. Branded so a path is never passed as a hash. */
export type Sha256 = string & { readonly __brand: 'sha256' };

export function sha256(data: string | Uint8Array): Sha256 {
  return createHash('sha256').update(data).digest('hex') as Sha256;
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** Short form for messages. */
export function short(hash: string | undefined): string {
  return hash ? hash.slice(0, 12) : '(none)';
}
