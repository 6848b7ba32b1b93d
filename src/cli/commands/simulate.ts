/**
 * `ballast simulate SCENARIO [--report out.html] [--json [out.json]] [--compare OTHER | --compare-policies FILES]`: runs a
 * what-if scenario with the production solver, planner and executor on the simulated control plane
 * and clock, and prints the text summary; writes the HTML report and the JSON for tools. With
 * `--compare`, runs a second scenario and puts the two side by side; with `--compare-policies`, the
 * same scenario under another policy set (e.g. balance-first vs cost-first). Nothing is written unless every scenario is valid and ran (no partial report).
 *
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { generateFleet } from '../../solver/index.js';
import {
  openScenario,
  productionEngine,
  renderComparisonText,
  renderHtmlComparison,
  renderHtmlReport,
  renderTextSummary,
  runScenario,
  scenarioJsonSchemaText,
  type OpenedScenario,
  type SimulationResult,
} from '../../simulator/index.js';
import { AppError } from '../../shared/index.js';
import { reportError, type CliIo } from '../io.js';

interface SimulateOptions {
  readonly report?: string;
  readonly compare?: string;
  readonly comparePolicies?: string;
  readonly schema?: boolean;
}

/**
 * `--json` is the program's global flag (every command has it), so in `simulate X --json out.json`
 * commander gives `out.json` to the command as a second argument. That argument is the JSON file
 * when `--json` is set; without `--json` it is a mistake.
 */
function jsonTarget(args: readonly (string | undefined)[], json: boolean): { scenario: string | undefined; jsonFile: string | null } {
  let [scenario, second] = args;
  if (second !== undefined && !json) throw new AppError('INVALID_INPUT', `unexpected argument '${second}': ballast simulate SCENARIO [--report FILE] [--json [FILE]] [--compare OTHER]`);
  // `simulate --json out.json SCENARIO`: the JSON file came first.
  if (second !== undefined && /\.json$/i.test(scenario ?? '') && /\.ya?ml$/i.test(second)) [scenario, second] = [second, scenario];
  return { scenario, jsonFile: second ?? null };
}

const show = (p: string): string => relative(process.cwd(), p) || p;

function open(path: string): OpenedScenario {
  return openScenario(resolve(path), {
    displayName: path,
    generate: (spec) => generateFleet({ volumes: spec.volumes, pools: spec.pools, seed: spec.seed }),
  });
}

/** Runs one scenario file; paths in the output are shown relative to the working directory. */
export async function simulateFile(path: string): Promise<SimulationResult> {
  return runScenario({ ...open(path), engine: productionEngine(), displayPath: show });
}

/**
 * Runs a scenario with another policy set in force from the start (comma-separated files), for a
 * comparison of two policy sets on the same base and events.
 */
export async function simulateWithPolicies(path: string, policyList: string): Promise<SimulationResult> {
  const opened = open(path);
  const files = policyList.split(',').map((f) => f.trim()).filter((f) => f.length > 0);
  if (files.length === 0) throw new AppError('INVALID_INPUT', '--compare-policies needs at least one policy file');
  const texts = new Map(opened.policyTexts);
  for (const f of files) {
    try {
      texts.set(resolve(f), readFileSync(resolve(f), 'utf8'));
    } catch (e) {
      throw new AppError('INVALID_INPUT', `cannot read policy file ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
  }
  const scenario = { ...opened.scenario, name: `${opened.scenario.name} [${files.map((f) => basename(f)).join(' + ')}]`, policies: files.map((f) => resolve(f)) };
  return runScenario({ scenario, base: opened.base, policyTexts: texts, engine: productionEngine(), displayPath: show });
}

function write(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch (e) {
    throw new AppError('INVALID_INPUT', `cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

/** Registers `ballast simulate`. */
export function registerSimulateCommands(program: Command, io: CliIo): void {
  program
    .command('simulate')
    .description('run a what-if scenario (simulations/*.yaml) on a simulated control plane and clock')
    .argument('[scenario]', 'scenario file (YAML)')
    .argument('[json-file]', 'with --json: write the JSON result to this file instead of printing it')
    .option('--report <file>', 'write a self-contained HTML report with SVG charts')
    .option('--compare <other>', 'run a second scenario and compare the two side by side')
    .option('--compare-policies <files>', 'run the same scenario again under these policy files (comma-separated) and compare')
    .option('--schema', 'print the JSON Schema of scenario files and exit')
    .action(async (first: string | undefined, second: string | undefined, opts: SimulateOptions, cmd: Command) => {
      const json = (cmd.optsWithGlobals() as { json?: boolean }).json === true;
      try {
        const { scenario, jsonFile } = jsonTarget([first, second], json);
        if (opts.schema) {
          io.stdout(scenarioJsonSchemaText());
          return;
        }
        if (!scenario) throw new AppError('INVALID_INPUT', 'missing the scenario file: ballast simulate SCENARIO (or --schema)');
        const a = await simulateFile(scenario);
        if (opts.compare !== undefined && opts.comparePolicies !== undefined) throw new AppError('INVALID_INPUT', '--compare and --compare-policies cannot be used together');
        const b = opts.compare !== undefined ? await simulateFile(opts.compare) : opts.comparePolicies !== undefined ? await simulateWithPolicies(scenario, opts.comparePolicies) : null;
        // Every file is written only once everything ran.
        if (typeof opts.report === 'string') write(opts.report, b ? renderHtmlComparison(a, b) : renderHtmlReport(a));
        const jsonValue = b ? { schema: 'ballast.io/simulation-comparison/v1', a, b } : a;
        if (jsonFile !== null) write(jsonFile, `${JSON.stringify(jsonValue, null, 2)}\n`);
        else if (json) {
          io.stdout(JSON.stringify(jsonValue, null, 2));
          return;
        }
        io.stdout(b ? `${renderComparisonText(a, b)}\n${renderTextSummary(a)}\n${renderTextSummary(b)}` : renderTextSummary(a));
      } catch (e) {
        reportError(io, e, json && second === undefined);
      }
    });
}
