import { randomUUID } from 'node:crypto';

/** Ids are Cinder-style UUIDs. Generation is an effect, injected where purity matters. */
export type IdGenerator = () => string;

export const uuidGenerator: IdGenerator = () => randomUUID();

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}
