import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi, type MockInstance } from 'vitest';
import { parse, stringify } from 'yaml';
import { checkPolicies, explainPolicy, type CheckResult } from '../../src/policy/index.js';

/**
 * Seeded mutations of the example policies. Each mutant must give at least one located problem
 * or a valid compile, never an exception, a hang, a stack trace or console output.
 */

const SEED = 0x5eed_ba11;
const CASES = 600;
const PER_CASE_LIMIT_MS = 2000;

/** mulberry32: small, seeded, deterministic. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}
type Rng = ReturnType<typeof rng>;

const examples = readdirSync('policies')
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => readFileSync(join('policies', f), 'utf8'));

const WEIRD_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  -0,
  1e308,
  1e309,
  -1e309,
  2 ** 53 + 1,
  Number.MAX_SAFE_INTEGER,
  0.1,
  '',
  ' ',
  '2TB',
  '85',
  '85%%',
  '-5%',
  '1e9PiB',
  '99999999999999999999GiB',
  '1Gbps',
  '15 minutes',
  '25:61',
  '* * *',
  'Mars/Olympus',
  '🙂',
  'x'.repeat(10_000),
  [],
  [1, 'a', null],
  {},
  { a: { b: { c: 1 } } },
  { __proto__: 1, constructor: 2 },
];

const WEIRD_TEXT = [
  '\u0000',
  '\uFEFF',
  '\t',
  '\r',
  '\u2028',
  '\uFFFD\uFFFD',
  '{{{{',
  ']]]]',
  '&a [*a, *a]',
  '!!binary aGVsbG8=',
  '!!js/function "function(){}"',
  '!custom 1',
  '? [complex, key]\n: 1',
  '%YAML 1.1\n---\n',
  '"unterminated',
  "'unterminated",
  '|\n  block',
  '>-\n folded',
  ': : :',
  '- - - -',
  '*undefinedAlias',
  '<<: *base',
  '\u001b[31m',
];

const KEYS = ['apiVersion', 'kind', 'metadata', 'scope', 'constraints', 'objectives', 'execution', 'when', 'priority', '__proto__', 'constructor', 'toString', 'maxUtilisation', 'x'];

function randomJunk(r: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(r.int(r.next() < 0.8 ? 256 : 0xffff));
  return s;
}

/** Paths of every node in a plain JS value. */
function paths(v: unknown, base: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [base];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...base, i])));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...base, k]));
  return out;
}

function setAt(root: unknown, path: (string | number)[], value: unknown, mode: 'set' | 'delete'): unknown {
  if (path.length === 0) return mode === 'delete' ? undefined : value;
  let cur = root as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (mode === 'delete') {
    if (Array.isArray(cur)) cur.splice(Number(last), 1);
    else delete cur[last];
  } else cur[last] = value;
  return root;
}

const typo = (r: Rng, s: string): string => {
  if (s.length < 2) return `${s}x`;
  const i = r.int(s.length - 1);
  const ops = [
    () => s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2),
    () => s.slice(0, i) + s.slice(i + 1),
    () => s.slice(0, i) + s[i] + s.slice(i),
    () => s.toUpperCase(),
  ];
  return r.pick(ops)();
};

/** One mutation of one example, by kind. */
const MUTATIONS: Record<string, (r: Rng, text: string) => string> = {
  deleteLine: (r, t) => {
    const lines = t.split('\n');
    lines.splice(r.int(lines.length), 1);
    return lines.join('\n');
  },
  duplicateLine: (r, t) => {
    const lines = t.split('\n');
    const i = r.int(lines.length);
    lines.splice(i, 0, lines[i]!);
    return lines.join('\n');
  },
  truncate: (r, t) => t.slice(0, r.int(t.length)),
  binaryJunk: (r, t) => {
    const at = r.int(t.length);
    return t.slice(0, at) + randomJunk(r, 1 + r.int(40)) + t.slice(at);
  },
  weirdText: (r, t) => {
    const at = r.int(t.length);
    return t.slice(0, at) + r.pick(WEIRD_TEXT) + t.slice(at);
  },
  reindent: (r, t) => {
    const lines = t.split('\n');
    const i = r.int(lines.length);
    lines[i] = r.pick(['', ' ', '   ', '\t', '        ']) + lines[i]!.trimStart();
    return lines.join('\n');
  },
  keyTypo: (r, t) => {
    const lines = t.split('\n');
    const candidates = lines.map((l, i) => ({ l, i })).filter(({ l }) => /^\s*[A-Za-z]+:/.test(l));
    if (candidates.length === 0) return t;
    const { l, i } = r.pick(candidates);
    const m = /^(\s*)([A-Za-z]+)(:.*)$/.exec(l)!;
    lines[i] = `${m[1]}${typo(r, m[2]!)}${m[3]}`;
    return lines.join('\n');
  },
  valueTypo: (r, t) => {
    const lines = t.split('\n');
    const candidates = lines.map((l, i) => ({ l, i })).filter(({ l }) => /^\s*[A-Za-z]+: [^#\s]/.test(l));
    if (candidates.length === 0) return t;
    const { l, i } = r.pick(candidates);
    const m = /^(\s*[A-Za-z]+: )([^#\s]+)(.*)$/.exec(l)!;
    lines[i] = `${m[1]}${typo(r, m[2]!)}${m[3]}`;
    return lines.join('\n');
  },
  colonToEquals: (r, t) => {
    const lines = t.split('\n');
    const i = r.int(lines.length);
    lines[i] = lines[i]!.replace(':', ' =');
    return lines.join('\n');
  },
  multipleDocuments: (_r, t) => `${t}\n---\n${t}`,
  empty: (r) => r.pick(['', ' ', '\n\n', '# only a comment\n', '---\n', '...\n', '~\n', 'null\n']),
  scalarDocument: (r) => r.pick(['42\n', 'true\n', '"a string"\n', '[1, 2]\n', '- a\n- b\n']),
  randomBytes: (r) => randomJunk(r, 1 + r.int(3000)),
  deepBlock: (r) => {
    const depth = 100 + r.int(150);
    let s = 'apiVersion: ballast.io/v1\nkind: PlacementPolicy\nmetadata:\n  name: deep\nscope:\n';
    for (let i = 0; i < depth; i++) s += `${'  '.repeat(i + 1)}k${i}:\n`;
    return `${s}${'  '.repeat(depth + 1)}v: 1\n`;
  },
  deepFlow: (r) => {
    const depth = 200 + r.int(300);
    return `apiVersion: ballast.io/v1\nscope: ${'['.repeat(depth)}${']'.repeat(depth)}\n`;
  },
  aliasBomb: () => {
    let s = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 10; i++) s += `a${i}: &a${i} [*a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}]\n`;
    return s;
  },
  hugeFile: (r) => `apiVersion: ballast.io/v1\n# ${'x'.repeat(4 * 1024 * 1024 + r.int(100))}\n`,
  longKey: (r, t) => `${t}\n${'k'.repeat(1000 + r.int(20_000))}: 1\n`,
  // structural mutations on the parsed document, written back as YAML
  wrongValue: (r, t) => {
    const doc: unknown = parse(t);
    const ps = paths(doc).filter((p) => p.length > 0);
    return stringify(setAt(doc, r.pick(ps), r.pick(WEIRD_VALUES), 'set'));
  },
  deleteNode: (r, t) => {
    const doc: unknown = parse(t);
    const ps = paths(doc).filter((p) => p.length > 0);
    return stringify(setAt(doc, r.pick(ps), undefined, 'delete') ?? null);
  },
  unknownKey: (r, t) => {
    const doc: unknown = parse(t);
    const objects = paths(doc).filter((p) => {
      const v = p.reduce<unknown>((c, k) => (c as Record<string | number, unknown>)[k], doc);
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    });
    const p = r.pick(objects);
    return stringify(setAt(doc, [...p, typo(r, r.pick(KEYS))], r.pick(WEIRD_VALUES), 'set'));
  },
  wrapInList: (r, t) => {
    const doc: unknown = parse(t);
    const ps = paths(doc).filter((p) => p.length > 0);
    const p = r.pick(ps);
    const v = p.reduce<unknown>((c, k) => (c as Record<string | number, unknown>)[k], doc);
    return stringify(setAt(doc, p, [v], 'set'));
  },
  hugeNumbers: (r, t) => t.replace(/: (\d+)(\s|$)/, `: ${r.pick(['1e400', '99999999999999999999999', '-1', '0x7fffffff', '.inf', '.nan', '1_000'])}$2`),
  combo: (r, t) => {
    const kinds = Object.keys(MUTATIONS).filter((k) => k !== 'combo');
    let out = t;
    for (let i = 0; i < 3; i++) {
      const m = MUTATIONS[r.pick(kinds)]!;
      try {
        out = m(r, out);
      } catch {
        // a structural mutation needs a parsable text; skip it after a textual one broke it
      }
    }
    return out;
  },
};

function assertWellFormed(name: string, text: string, r: CheckResult): void {
  if (r.ok) {
    expect(r.problems).toEqual([]);
    expect(r.policy).not.toBeNull();
    expect(Object.isFrozen(r.policy)).toBe(true);
    expect(typeof explainPolicy(r.policy!)).toBe('string');
    return;
  }
  expect(r.problems.length).toBeGreaterThan(0);
  const lineCount = text.split(/\r\n|\r|\n/).length;
  for (const p of r.problems) {
    expect(p.location.file).toBe(name);
    expect(Number.isInteger(p.location.line) && p.location.line >= 1).toBe(true);
    expect(Number.isInteger(p.location.col) && p.location.col >= 1).toBe(true);
    expect(p.location.line).toBeLessThanOrEqual(lineCount + 1);
    expect(p.message.length).toBeGreaterThan(0);
    expect(p.message).not.toMatch(/internal error/);
    expect(p.message).not.toMatch(/\n\s+at /); // no stack traces
  }
}

describe('fuzz: mutated example policies', () => {
  let emitWarning: MockInstance;
  const consoleSpies: MockInstance[] = [];
  beforeAll(() => {
    emitWarning = vi.spyOn(process, 'emitWarning');
    for (const m of ['log', 'warn', 'error', 'info', 'debug'] as const) consoleSpies.push(vi.spyOn(console, m));
  });
  afterAll(() => {
    emitWarning.mockRestore();
    consoleSpies.forEach((s) => s.mockRestore());
  });

  test(`${CASES} seeded mutations: located problems or a valid compile, never a crash`, () => {
    const r = rng(SEED);
    const kinds = Object.keys(MUTATIONS);
    const seen = new Map<string, { ok: number; failed: number }>();
    let slowest = 0;
    const t0 = performance.now();
    for (let i = 0; i < CASES; i++) {
      const kind = kinds[i % kinds.length]!;
      const base = r.pick(examples);
      let text: string;
      try {
        text = MUTATIONS[kind]!(r, base);
      } catch {
        text = base; // the mutation itself could not apply (test-side); the base still gets checked
      }
      const name = `fuzz/${String(i).padStart(3, '0')}-${kind}.yaml`;
      const start = performance.now();
      let result: CheckResult | undefined;
      expect(() => {
        result = checkPolicies([{ file: name, text }]);
      }, name).not.toThrow();
      const ms = performance.now() - start;
      slowest = Math.max(slowest, ms);
      expect(ms, `${name} took ${ms.toFixed(0)} ms`).toBeLessThan(PER_CASE_LIMIT_MS);
      assertWellFormed(name, text, result!);
      const stat = seen.get(kind) ?? { ok: 0, failed: 0 };
      if (result!.ok) stat.ok++;
      else stat.failed++;
      seen.set(kind, stat);
    }
    expect(performance.now() - t0).toBeLessThan(60_000);
    // Every mutation kind ran, and the mutants mostly break the policy (they are meant to).
    expect([...seen.keys()].sort()).toEqual([...kinds].sort());
    const failed = [...seen.values()].reduce((n, s) => n + s.failed, 0);
    expect(failed).toBeGreaterThan(CASES / 2);
    // Inputs that must always fail.
    for (const k of ['randomBytes', 'deepFlow', 'deepBlock', 'hugeFile', 'empty', 'scalarDocument', 'multipleDocuments', 'aliasBomb']) {
      expect(seen.get(k)?.ok, k).toBe(0);
    }
    expect(emitWarning).not.toHaveBeenCalled();
    consoleSpies.forEach((s) => expect(s).not.toHaveBeenCalled());
  });

  test('mutants checked together with the intact examples compose without crashing', () => {
    const r = rng(SEED + 1);
    const kinds = Object.keys(MUTATIONS).filter((k) => !['hugeFile', 'randomBytes'].includes(k));
    for (let i = 0; i < 60; i++) {
      const files = examples.map((text, j) => ({ file: `set${i}/${j}.yaml`, text }));
      const victim = r.int(files.length);
      try {
        files[victim] = { ...files[victim]!, text: MUTATIONS[r.pick(kinds)]!(r, files[victim]!.text) };
      } catch {
        // leave it intact
      }
      let result: CheckResult | undefined;
      expect(() => {
        result = checkPolicies(files);
      }).not.toThrow();
      if (!result!.ok) {
        for (const p of result!.problems) {
          expect(p.location.line).toBeGreaterThanOrEqual(1);
          expect(p.message).not.toMatch(/internal error/);
        }
      }
    }
  });
});
