import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { FileProblem, SourceLocation } from './errors.js';

/** A parsed YAML file that can say where any value of it is (for `file:line:col` errors). */
export interface YamlSource {
  readonly file: string;
  /** The plain JavaScript value of the document (undefined for an empty file). */
  readonly value: unknown;
  /** YAML syntax problems (bad indentation, duplicate keys, ...); empty when the text parsed. */
  readonly syntaxProblems: readonly FileProblem[];
  /** Location of the value at `path`, or of its nearest existing ancestor. */
  locate(path: readonly (string | number)[], which?: 'key' | 'value'): SourceLocation;
}

const MAX_DEPTH = 64;
const MAX_BYTES = 4 * 1024 * 1024;

/** Formats a path as `backends[0].pools[1].size`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out.length === 0 ? String(p) : `.${String(p)}`;
  }
  return out;
}

function depthOf(node: unknown, depth = 0): number {
  if (depth > MAX_DEPTH) return depth;
  if (isMap(node) || isSeq(node)) {
    let max = depth;
    for (const item of node.items as unknown[]) {
      const child = isPair(item) ? item.value : item;
      max = Math.max(max, depthOf(child, depth + 1));
      if (max > MAX_DEPTH) return max;
    }
    return max;
  }
  return depth;
}

export function parseYamlSource(file: string, text: string): YamlSource {
  const lineCounter = new LineCounter();
  const at = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col };
  };
  if (Buffer.byteLength(text) > MAX_BYTES) {
    return {
      file,
      value: undefined,
      syntaxProblems: [{ location: { file, line: 1, col: 1 }, path: '', message: `file is larger than ${MAX_BYTES} bytes` }],
      locate: () => ({ file, line: 1, col: 1 }),
    };
  }
  if (text.includes('\u0000')) {
    const idx = text.indexOf('\u0000');
    lineCounter.addNewLine(0);
    const before = text.slice(0, idx);
    const line = before.split('\n').length;
    const col = idx - before.lastIndexOf('\n');
    return {
      file,
      value: undefined,
      syntaxProblems: [{ location: { file, line, col }, path: '', message: 'binary data (NUL byte) in a YAML file' }],
      locate: () => ({ file, line: 1, col: 1 }),
    };
  }
  // logLevel 'error': the yaml library would otherwise print process warnings (e.g. for a mapping
  // used as a key) to stderr; problems are reported as data, never printed.
  const doc: Document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const syntaxProblems: FileProblem[] = [...doc.errors, ...doc.warnings.filter((w) => w.code === 'DUPLICATE_KEY')].map((e) => ({
    location: at(e.pos[0]),
    path: '',
    message: e.code === 'DUPLICATE_KEY' ? 'duplicate key' : e.message.split('\n')[0] ?? e.message,
  }));
  let value: unknown;
  if (syntaxProblems.length === 0) {
    if (depthOf(doc.contents) > MAX_DEPTH) {
      syntaxProblems.push({ location: at(0), path: '', message: `document nested deeper than ${MAX_DEPTH} levels` });
    } else {
      try {
        value = doc.toJS({ maxAliasCount: 100 });
      } catch (e) {
        syntaxProblems.push({ location: at(0), path: '', message: e instanceof Error ? e.message : String(e) });
      }
    }
  }
  const locate = (path: readonly (string | number)[], which: 'key' | 'value' = 'value'): SourceLocation => {
    let node: unknown = doc.contents;
    let best: number = (node as Node | null)?.range?.[0] ?? 0;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        const keyNode = pair.key as Node;
        const valueNode = pair.value as Node | null;
        best = which === 'key' || !valueNode?.range ? (keyNode.range?.[0] ?? best) : valueNode.range[0];
        if (which === 'key' && i === path.length - 1) return at(best);
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg] as Node | undefined;
        if (!item) break;
        best = item.range?.[0] ?? best;
        node = item;
      } else {
        break;
      }
    }
    return at(best);
  };
  return { file, value, syntaxProblems, locate };
}
