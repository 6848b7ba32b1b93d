/**
 * QMP block node options for a {@link BlockSource}, and the small naming rules shared by the
 * daemon and the mirror.
 */
import { isAbsolute, resolve } from 'node:path';
import { AppError } from '../shared/index.js';
import type { BlockSource } from './types.js';

/** Node names Ballast gives format nodes: `vol-<generation>`. */
export const NODE_PREFIX = 'vol-';

/** `vol-<gen>` for a generation number. */
export function nodeName(generation: number): string {
  return `${NODE_PREFIX}${generation}`;
}

/** The generation of a `vol-<gen>` node name, or undefined for other names. */
export function generationOf(node: string): number | undefined {
  const m = /^vol-(\d+)$/.exec(node);
  return m ? Number(m[1]) : undefined;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Throws INVALID_INPUT unless `value` is a safe name (letters, digits, `.`, `_`, `-`). */
export function checkName(what: string, value: string): void {
  if (!SAFE_NAME.test(value)) {
    throw new AppError('INVALID_INPUT', `${what} ${JSON.stringify(value)} must be 1-128 letters, digits, '.', '_' or '-'`);
  }
}

/** A copy of `source` with absolute paths (QEMU resolves relative ones against its own cwd). */
export function absoluteSource(source: BlockSource): BlockSource {
  if (source.kind === 'file') return { kind: 'file', path: resolve(source.path) };
  if (source.kind === 'nbd') {
    checkName('NBD export name', source.exportName);
    return { kind: 'nbd', socketPath: resolve(source.socketPath), exportName: source.exportName };
  }
  throw new AppError('INVALID_INPUT', `unknown block source kind ${JSON.stringify((source as { kind: unknown }).kind)}`);
}

/**
 * `blockdev-add` arguments for a format node named `node` over `source`: raw over an O_DIRECT file
 * (`cache.direct=on`, `aio=native`: the settings that keep the pivot short, live-copy.md), or raw
 * over an NBD client. The protocol child is named `<node>-file` and goes away with its parent.
 */
export function blockdevOptions(node: string, source: BlockSource): Record<string, unknown> {
  if (source.kind === 'file') {
    if (!isAbsolute(source.path)) throw new AppError('INVALID_INPUT', `block source path must be absolute: ${source.path}`);
    return {
      driver: 'raw',
      'node-name': node,
      cache: { direct: true },
      file: { driver: 'file', 'node-name': `${node}-file`, filename: source.path, cache: { direct: true }, aio: 'native' },
    };
  }
  return {
    driver: 'raw',
    'node-name': node,
    file: {
      driver: 'nbd',
      'node-name': `${node}-file`,
      server: { type: 'unix', path: source.socketPath },
      export: source.exportName,
    },
  };
}

/** The consumer address of an NBD export on a unix socket: `nbd+unix:///<name>?socket=<path>`. */
export function nbdUnixAddress(exportName: string, socketPath: string): string {
  return `nbd+unix:///${exportName}?socket=${socketPath}`;
}

/** A QEMU command-line option value with its commas escaped (`,` → `,,`). */
export function qemuOptValue(value: string): string {
  return value.replaceAll(',', ',,');
}
