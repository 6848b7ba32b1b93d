/**
 * The OpenStack Cinder control plane (issue 7): Keystone v3 or noauth, microversions, get_pools,
 * volumes/detail, os-migrate_volume, os-retype, and migration_status polling.
 *
 * @module
 */
export { CinderControlPlane, observeVolume, type CinderControlPlaneOptions } from './control-plane.js';
export { CinderClient, requestError, type CinderClientOptions } from './client.js';
export { HttpClient, openstackErrorMessage, safeUrl, type HttpClientOptions, type HttpRequest, type HttpResponse } from './http.js';
export {
  KeystoneAuthenticator,
  NoAuthAuthenticator,
  keystoneAuthBody,
  normalizeAuthUrl,
  type AuthSession,
  type Authenticator,
  type KeystoneAuthOptions,
  type KeystoneIdentity,
} from './auth.js';
export { parseTokenBody, selectVolumeEndpoint, VOLUME_SERVICE_TYPES, type CatalogEndpoint, type EndpointInterface, type ParsedToken } from './catalog.js';
export {
  MIN_MICROVERSION,
  WANTED_MICROVERSION,
  compareMicroversion,
  formatMicroversion,
  negotiateMicroversion,
  parseMicroversion,
  serverVersions,
  versionDocumentUrl,
  type Microversion,
  type ServerVersions,
} from './microversion.js';
export * from './mapping.js';
export { assessMove, hostMatches, FRESH_MEMORY, type AcceptedMove, type Assessment, type PollContext, type PollMemory, type VolumeObservation } from './progress.js';
export { decodeMoveRef, encodeMoveRef } from './handle.js';
export {
  cloudsYamlPaths,
  defaultSettingsIo,
  resolveCinderConnection,
  type CinderConnection,
  type CinderSettingsInput,
  type SettingsIo,
} from './settings.js';
export { makeAuthenticator, openCinderControlPlane, type CinderTuning } from './open.js';
