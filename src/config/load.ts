/**
 * Loading `ballast.yaml`: read, parse with positions, validate (schema + cross-field rules), and
 * compile into {@link LoadedConfig}, the form the rest of Ballast uses. Every problem of a file is
 * reported at once, each with its `file:line:col`.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { BackendSpec, PoolSpec } from '../blockstore/index.js';
import type { VolumeType } from '../model/index.js';
import {
  AppError,
  FileValidationError,
  MiB,
  parseYamlSource,
  zodIssuesToProblems,
  type FileProblem,
  type YamlSource,
} from '../shared/index.js';
import { checkCompiledBackends, checkRawDocument, checkTypesMatchPools } from './checks.js';
import { configSchema, type ConfigDocument } from './schema.js';
import { resolveControlPlaneFiles, type ControlPlaneSettings } from './control-plane-schema.js';
import { compileTelemetry, type TelemetryConfig } from './telemetry-schema.js';
import type { ApiConfig } from './api-schema.js';

/** Driver names accepted when the caller passes none. */
export const DEFAULT_DRIVER_NAMES: readonly string[] = ['raw', 'chunked'];

/** File name `ballast init` writes and the default `--config`. */
export const CONFIG_FILE_NAME = 'ballast.yaml';

/** A volume type as configured; its id is assigned by the service when it is stored. */
export type VolumeTypeSpec = Omit<VolumeType, 'id'>;

/** The compiled configuration: defaults applied, units parsed, paths absolute. Deeply frozen. */
export interface LoadedConfig {
  /** Absolute path of the file this was loaded from. */
  readonly configFile: string;
  /** Absolute directory for state and volume data. */
  readonly dataDir: string;
  /** Absolute path of the SQLite state database. */
  readonly stateDbPath: string;
  /** The `host` part of `host@backend#pool`. */
  readonly host: string;
  readonly copy: {
    /** Buffer per generic copy, in bytes. */
    readonly bufferBytes: number;
    /** Throughput cap per copy, bytes per second; 0 = none. */
    readonly bpsLimit: number;
  };
  readonly backends: readonly BackendSpec[];
  readonly volumeTypes: readonly VolumeTypeSpec[];
  /** Name of the default volume type, or null. */
  readonly defaultVolumeType: string | null;
  /** The HTTP API of `ballast serve` (tokens stay as configured; tokenEnv is read at start). */
  readonly api: ApiConfig;
  /** The control plane to drive: embedded (default) or cinder; secret file paths made absolute. */
  readonly controlPlane: ControlPlaneSettings;
  /** Problems that do not stop loading (e.g. a volume type no pool can serve). */
  readonly warnings: readonly FileProblem[];
  /** The `telemetry:` section, compiled (defaults when the file has none). */
  readonly telemetry: TelemetryConfig;
}

/** Options of {@link loadConfig} and {@link parseConfig}. */
export interface LoadConfigOptions {
  /** Names of the registered volume drivers (default {@link DEFAULT_DRIVER_NAMES}). */
  readonly driverNames?: readonly string[];
}

/**
 * The configuration file to use: the `--config` flag, else `BALLAST_CONFIG`, else
 * `./ballast.yaml` (returned as given, not resolved).
 */
export function resolveConfigPath(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined && flag.length > 0) return flag;
  const fromEnv = env['BALLAST_CONFIG'];
  if (fromEnv !== undefined && fromEnv.length > 0) return fromEnv;
  return `./${CONFIG_FILE_NAME}`;
}

/**
 * Reads, validates and compiles a `ballast.yaml`.
 *
 * @throws AppError `CONFIG_NOT_FOUND` when the file does not exist (or is a directory);
 *   `CONFIG_INVALID` when it cannot be read; {@link FileValidationError} `CONFIG_INVALID` with every
 *   located problem when it is invalid.
 */
export async function loadConfig(file: string, opts: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const absolute = resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new AppError(
        'CONFIG_NOT_FOUND',
        `no configuration file at ${absolute}: create one with 'ballast init DIR' (it writes DIR/${CONFIG_FILE_NAME}), then pass it with --config or BALLAST_CONFIG`,
        { cause: e, details: { path: absolute } },
      );
    }
    if (code === 'EISDIR') {
      throw new AppError(
        'CONFIG_NOT_FOUND',
        `${absolute} is a directory, not a configuration file: did you mean ${join(absolute, CONFIG_FILE_NAME)}?`,
        { cause: e, details: { path: absolute } },
      );
    }
    throw new AppError('CONFIG_INVALID', `cannot read configuration file ${absolute}: ${(e as Error).message}`, {
      cause: e,
      details: { path: absolute },
    });
  }
  return parseConfig(file, text, opts);
}

/**
 * Validates and compiles the text of a `ballast.yaml`. `file` names it in problems and anchors
 * its relative paths. Throws as {@link loadConfig} does for an invalid file.
 */
export function parseConfig(file: string, text: string, opts: LoadConfigOptions = {}): LoadedConfig {
  const driverNames = opts.driverNames ?? DEFAULT_DRIVER_NAMES;
  const source = parseYamlSource(file, text);
  const fail = (problems: readonly FileProblem[]): never => {
    throw new FileValidationError('CONFIG_INVALID', file, sortProblems(problems));
  };
  if (source.syntaxProblems.length > 0) fail(source.syntaxProblems);
  if (source.value === undefined || source.value === null) {
    fail([
      {
        location: { file, line: 1, col: 1 },
        path: '',
        message: `the file has no settings (it is empty or only comments): expected a configuration starting with 'apiVersion: ballast/v1' (run 'ballast init DIR' for a commented example)`,
      },
    ]);
  }
  const parsed = configSchema.safeParse(source.value);
  const problems = [
    ...(parsed.success ? [] : zodIssuesToProblems(source, parsed.error.issues, configSchema)),
    ...checkRawDocument(source, driverNames),
  ];
  if (!parsed.success || problems.length > 0) fail(problems);
  return compile(source, resolve(file), (parsed as { data: ConfigDocument }).data);
}

function compile(source: YamlSource, configFile: string, doc: ConfigDocument): LoadedConfig {
  const configDir = dirname(configFile);
  const dataDir = resolve(configDir, doc.dataDir);
  const stateDbPath = resolve(dataDir, doc.stateDb);
  const backends: BackendSpec[] = doc.backends.map((b) => ({
    name: b.name,
    host: doc.host,
    driver: b.driver,
    volumeBackendName: b.volumeBackendName ?? b.name,
    options: { ...b.options },
    pools: b.pools.map(
      (p): PoolSpec => ({
        name: p.name,
        sizeGiB: p.size,
        provisioning: p.provisioning,
        maxOverSubscriptionRatio: p.maxOverSubscriptionRatio,
        reservedPercentage: p.reservedPercentage,
        availabilityZone: p.availabilityZone,
        capabilities: { ...p.capabilities },
        dataPath: p.path !== undefined ? resolve(configDir, p.path) : join(dataDir, b.name, p.name),
      }),
    ),
  }));
  const errors = checkCompiledBackends(source, backends, stateDbPath);
  if (errors.length > 0) throw new FileValidationError('CONFIG_INVALID', source.file, sortProblems(errors));
  const volumeTypes: VolumeTypeSpec[] = doc.volumeTypes.map((t) => ({
    name: t.name,
    description: t.description,
    extraSpecs: { ...t.extraSpecs },
  }));
  return deepFreeze({
    configFile,
    dataDir,
    stateDbPath,
    host: doc.host,
    copy: { bufferBytes: doc.copy.bufferMiB * MiB, bpsLimit: doc.copy.bpsLimit },
    backends,
    volumeTypes,
    defaultVolumeType: doc.defaultVolumeType,
    controlPlane: resolveControlPlaneFiles(doc.controlPlane, configDir),
    api: doc.api,
    warnings: sortProblems(checkTypesMatchPools(source, backends, volumeTypes)),
    telemetry: compileTelemetry(doc.telemetry, dataDir, configDir),
  });
}

function sortProblems(problems: readonly FileProblem[]): FileProblem[] {
  return [...problems].sort((a, b) => a.location.line - b.location.line || a.location.col - b.location.col);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
