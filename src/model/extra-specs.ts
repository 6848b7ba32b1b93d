/**
 * Cinder's CapabilitiesFilter (section 2.3) over a type's extra specs and a pool's capabilities.
 * Scoped keys other than `capabilities:` are ignored; `capabilities:` is stripped; nested keys use
 * `:`; operators follow `extra_specs_ops.match`.
 */
export type Capabilities = Readonly<Record<string, unknown>>;

export interface SpecVerdict {
  readonly pass: boolean;
  /** The first failing key and why, for error messages. */
  readonly reason: string;
}

const TRUE_STRINGS = new Set(['1', 't', 'true', 'on', 'y', 'yes']);

function boolFromString(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  return TRUE_STRINGS.has(String(v).trim().toLowerCase());
}

function lookup(caps: Capabilities, key: string): { found: boolean; value: unknown } {
  if (Object.prototype.hasOwnProperty.call(caps, key)) return { found: true, value: caps[key] };
  const parts = key.split(':');
  let cur: unknown = caps;
  for (const p of parts) {
    if (cur !== null && typeof cur === 'object' && Object.prototype.hasOwnProperty.call(cur, p)) {
      cur = (cur as Record<string, unknown>)[p];
    } else {
      return { found: false, value: undefined };
    }
  }
  return { found: true, value: cur };
}

/** `extra_specs_ops.match(value, req)`. */
export function matchSpec(value: unknown, req: string | null): boolean {
  if (req === null) return value === null || value === undefined;
  const words = req.trim().split(/\s+/);
  const op = words[0] ?? '';
  const rest = words.slice(1);
  const num = (x: unknown) => Number.parseFloat(String(x));
  const str = String(value);
  const arg = rest.join(' ');
  switch (op) {
    case '=':
      return num(value) >= num(arg);
    case '==':
      return num(value) === num(arg);
    case '!=':
      return num(value) !== num(arg);
    case '>=':
      return num(value) >= num(arg);
    case '<=':
      return num(value) <= num(arg);
    case 's==':
      return str === arg;
    case 's!=':
      return str !== arg;
    case 's<':
      return str < arg;
    case 's<=':
      return str <= arg;
    case 's>':
      return str > arg;
    case 's>=':
      return str >= arg;
    case '<in>':
      return str.includes(arg);
    case '<is>':
      return boolFromString(value) === boolFromString(arg);
    case '<or>': {
      const options = req.trim().split('<or>').map((s) => s.trim()).filter((s) => s.length > 0);
      return options.includes(str);
    }
    default:
      if (typeof value === 'boolean') return String(value).toLowerCase() === req.trim().toLowerCase() || value === boolFromString(req);
      return str === req;
  }
}

/** True iff every unscoped or `capabilities:`-scoped extra spec matches the pool's capabilities. */
export function capabilitiesMatch(extraSpecs: Readonly<Record<string, string>>, caps: Capabilities): SpecVerdict {
  for (const [rawKey, req] of Object.entries(extraSpecs)) {
    let key = rawKey;
    const scopeSep = rawKey.indexOf(':');
    if (scopeSep > 0) {
      const scope = rawKey.slice(0, scopeSep);
      if (scope !== 'capabilities') continue;
      key = rawKey.slice(scopeSep + 1);
    }
    const { found, value } = lookup(caps, key);
    if (!found) return { pass: false, reason: `capability '${key}' not reported (type requires ${rawKey}=${req})` };
    const values = Array.isArray(value) ? value : [value];
    if (!values.some((v) => matchSpec(v, req))) {
      return { pass: false, reason: `capability '${key}'=${JSON.stringify(value)} does not match ${rawKey}='${req}'` };
    }
  }
  return { pass: true, reason: 'all extra specs match' };
}
