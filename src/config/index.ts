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
export {
  cinderControlPlaneSchema,
  controlPlaneSchema,
  embeddedControlPlaneSchema,
  type CinderControlPlaneSettings,
  type ControlPlaneSettings,
} from './control-plane-schema.js';
export { compileTelemetry, parseDurationMs, telemetrySchema, type TelemetryConfig, type TelemetryRetention } from './telemetry-schema.js';
export { apiSchema, apiTokenSchema, parseListen, DEFAULT_API_LISTEN, DEFAULT_API_MAX_BODY_BYTES, type ApiConfig, type ApiTokenConfig } from './api-schema.js';
export { renderInitConfig, renderInitPrices, writeInitConfig, type WriteInitConfigOptions } from './init-template.js';
