import { AppError, toAppError } from '../shared/index.js';

/** Where a command writes: injected so tests and the demo can capture output. */
export interface CliIo {
  stdout(s: string): void;
  stderr(s: string): void;
  setExitCode(n: number): void;
  readonly isTTY: boolean;
}

export const processIo: CliIo = {
  stdout: (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
  stderr: (s) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
  setExitCode: (n) => {
    process.exitCode = n;
  },
  isTTY: process.stderr.isTTY === true,
};

function cell(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A table in the style of the `cinder` client (prettytable borders), deterministic column order. */
export function renderTable(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const text = rows.map((r) => r.map(cell));
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((r) => (r[i] ?? '').length)));
  const sep = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [sep, line(columns), sep, ...text.map(line), sep].join('\n');
}

/** `cinder show` style: one Property/Value row per field. */
export function renderProperties(obj: Readonly<Record<string, unknown>>): string {
  const keys = Object.keys(obj).sort();
  return renderTable(
    ['Property', 'Value'],
    keys.map((k) => [k, obj[k]]),
  );
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout(JSON.stringify(value, null, 2));
}

/** Prints an error with its stable code to stderr and sets the exit code. */
export function reportError(io: CliIo, e: unknown, json: boolean): void {
  const err = e instanceof AppError ? e : toAppError(e);
  if (json) io.stderr(JSON.stringify({ error: err.toJSON() }));
  else io.stderr(`ERROR [${err.code}]: ${err.message}`);
  if (err.code === 'INTERNAL' && e instanceof Error && e.stack && process.env['BALLAST_DEBUG']) io.stderr(e.stack);
  io.setExitCode(err.exitCode);
}
