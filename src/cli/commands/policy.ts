/**
 * `ballast policy …`: check policy files (for pull requests), explain one in plain language, and
 * print the JSON Schema. The only place policy files are read from disk.
 *
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import {
  checkPolicies,
  explainPolicy,
  policyJsonSchemaText,
  type PolicyInventory,
  type PolicySourceFile,
} from '../../policy/index.js';
import { formatLocation, type FileProblem } from '../../shared/index.js';

/** Where the commands write, and how they report failure (injected for tests). */
export interface PolicyCommandIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly setExitCode: (n: number) => void;
}

/** Default files of `policy check`. */
export const DEFAULT_POLICY_DIR = 'policies';
const MAX_FILE_BYTES = 4 * 1024 * 1024;

const POLICY_FILE_RE = /\.ya?ml$/;

/** Files to read: directories expand to their `*.yaml` / `*.yml` files (not recursive). */
export function expand(args: readonly string[]): { files: string[]; problems: FileProblem[] } {
  const files: string[] = [];
  const problems: FileProblem[] = [];
  for (const arg of args) {
    let isDir = false;
    try {
      isDir = statSync(arg).isDirectory();
    } catch {
      isDir = false;
    }
    if (isDir) {
      const inDir = readdirSync(arg)
        .filter((f) => POLICY_FILE_RE.test(f))
        .sort()
        .map((f) => join(arg, f));
      if (inDir.length === 0) problems.push({ location: { file: arg, line: 1, col: 1 }, path: '', message: 'no policy files (*.yaml) in this directory' });
      files.push(...inDir);
    } else {
      files.push(arg);
    }
  }
  return { files: [...new Set(files)], problems };
}

/** Reads files; unreadable ones become problems (so they show up in every output format). */
export function readAll(paths: readonly string[]): { sources: PolicySourceFile[]; problems: FileProblem[] } {
  const sources: PolicySourceFile[] = [];
  const problems: FileProblem[] = [];
  for (const file of paths) {
    const fail = (message: string) => problems.push({ location: { file, line: 1, col: 1 }, path: '', message });
    try {
      const st = statSync(file);
      if (!st.isFile()) fail('not a regular file');
      else if (st.size > MAX_FILE_BYTES) fail(`file is larger than ${MAX_FILE_BYTES} bytes`);
      else sources.push({ file, text: readFileSync(file).toString('utf8') });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      fail(code === 'ENOENT' ? 'no such file' : `cannot read the file (${code ?? (e instanceof Error ? e.message : String(e))})`);
    }
  }
  return { sources, problems };
}

const InventoryFile = z
  .strictObject({
    pools: z.array(z.string()).default([]).describe('Pools as host@backend#pool.'),
    backends: z.array(z.string()).default([]).describe('Back-ends, as backend or host@backend.'),
    volumeTypes: z.array(z.string()).default([]).describe('Volume type names.'),
    availabilityZones: z.array(z.string()).default([]).describe('Availability zone names.'),
  })
  .describe('Names in the current inventory, for reference checks.');

function readInventory(file: string): PolicyInventory | string {
  try {
    const parsed = InventoryFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) {
      return parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    }
    return parsed.data;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Escapes the message of a GitHub workflow command. */
function ghData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
/** Escapes a property value of a GitHub workflow command. */
function ghProperty(s: string): string {
  return ghData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** Control characters from a hostile file are shown escaped, never sent to the terminal. */
function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const describe = (p: FileProblem) => printable(`${p.path ? `${p.path}: ` : ''}${p.message}`);

/** Formats problems as text lines `file:line:col: error: path: message`. */
export function formatProblemsText(problems: readonly FileProblem[]): string {
  return problems.map((p) => `${printable(formatLocation(p.location))}: error: ${describe(p)}\n`).join('');
}

/** Formats problems as GitHub Actions annotations (`::error file=…,line=…,col=…::…`). */
export function formatProblemsGithub(problems: readonly FileProblem[]): string {
  return problems
    .map((p) => `::error file=${ghProperty(printable(p.location.file))},line=${p.location.line},col=${p.location.col}::${ghData(describe(p))}\n`)
    .join('');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Adds `policy check`, `policy explain` and `policy schema` to `program`. Output goes through
 * `io`; a failed check sets exit code 1.
 */
export function registerPolicyCommands(program: Command, io: PolicyCommandIo): void {
  const policy = program.command('policy').description('Check, explain and describe placement policy files');

  policy
    .command('check')
    .description(`Validate policy files together (default: ${DEFAULT_POLICY_DIR}/*.yaml); exit 1 on any problem`)
    .argument('[files...]', 'policy files or directories')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'github']).default('text'))
    .option('--inventory <file>', 'JSON {pools, backends, volumeTypes, availabilityZones}: report references to unknown names')
    .action((args: string[], opts: { format: 'text' | 'json' | 'github'; inventory?: string }) => {
      let inventory: PolicyInventory | undefined;
      if (opts.inventory !== undefined) {
        const inv = readInventory(opts.inventory);
        if (typeof inv === 'string') {
          io.stderr(`ballast policy check: invalid inventory ${opts.inventory}: ${inv}\n`);
          io.setExitCode(2);
          return;
        }
        inventory = inv;
      }
      const expanded = expand(args.length > 0 ? args : [DEFAULT_POLICY_DIR]);
      const read = readAll(expanded.files);
      const result = checkPolicies(read.sources, inventory ? { inventory } : {});
      const problems = [...expanded.problems, ...read.problems, ...result.problems];
      const files = [...new Set([...expanded.files])].sort();
      const failedFiles = new Set(problems.map((p) => p.location.file)).size;
      if (opts.format === 'json') {
        const out = {
          ok: problems.length === 0,
          files,
          problems: problems.map((p) => ({ file: p.location.file, line: p.location.line, col: p.location.col, path: p.path, message: p.message })),
        };
        io.stdout(`${JSON.stringify(out, null, 2)}\n`);
      } else {
        const lines = opts.format === 'github' ? formatProblemsGithub(problems) : formatProblemsText(problems);
        if (lines) io.stdout(lines);
        io.stdout(
          problems.length === 0
            ? `ok: ${plural(files.length, 'policy file')} checked\n`
            : `${plural(problems.length, 'problem')} in ${failedFiles} of ${plural(files.length, 'policy file')}\n`,
        );
      }
      io.setExitCode(problems.length === 0 ? 0 : 1);
    });

  policy
    .command('explain')
    .description('Print a plain-language Markdown summary of what a policy enforces and optimizes')
    .argument('<file>', 'a policy file')
    .action((file: string) => {
      const read = readAll([file]);
      const result = read.problems.length === 0 ? checkPolicies(read.sources) : null;
      const problems = [...read.problems, ...(result?.problems ?? [])];
      if (problems.length > 0 || !result?.policy) {
        io.stderr(formatProblemsText(problems));
        io.setExitCode(1);
        return;
      }
      io.stdout(explainPolicy(result.policy));
      io.setExitCode(0);
    });

  policy
    .command('schema')
    .description('Print the JSON Schema of policy files (as committed in policies/policy.schema.json)')
    .action(() => {
      io.stdout(policyJsonSchemaText());
      io.setExitCode(0);
    });
}
