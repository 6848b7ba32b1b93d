/**
 * Configuration of an embedded deployment (`ballast.yaml`): schema, loading, and `ballast init`.
 *
 * @module
 */
export {
  CONFIG_API_VERSION,
  MAX_POOL_SIZE_GIB,
  backendSchema,
  configSchema,
  copySchema,
  poolSchema,
  volumeTypeSchema,
  parseRateBytesPerSec,
  parseSizeGiB,
  type ParsedQuantity,
  type ConfigDocument,
  type ConfigInput,
} from './schema.js';
export {
  CONFIG_FILE_NAME,
  DEFAULT_DRIVER_NAMES,
  loadConfig,
  parseConfig,
  resolveConfigPath,
  type LoadConfigOptions,
  type LoadedConfig,
  type VolumeTypeSpec,
} from './load.js';
export { REPORTED_CAPABILITY_KEYS } from './checks.js';
export { renderInitConfig, writeInitConfig, type WriteInitConfigOptions } from './init-template.js';
