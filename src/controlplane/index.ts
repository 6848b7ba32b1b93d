/**
 * Control planes: adapters behind the port of `src/model/control-plane.ts`. `embedded` drives
 * Ballast's own block service in this process; `cinder` (issue 7) drives OpenStack Cinder's REST API.
 *
 * @module
 */
export { EmbeddedControlPlane, type EmbeddedControlPlaneOptions } from './embedded.js';
export * from './cinder/index.js';
