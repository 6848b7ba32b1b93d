/**
 * Opens the control plane a configuration selects, for one CLI command: the embedded block service
 * of the deployment (default), or OpenStack Cinder (`controlPlane: cinder`, docs/openstack.md).
 *
 * @module
 */
import { EmbeddedControlPlane, openCinderControlPlane, resolveCinderConnection, type CinderSettingsInput } from '../controlplane/index.js';
import type { CinderControlPlaneSettings, LoadedConfig } from '../config/index.js';
import type { ControlPlane } from '../model/index.js';
import { formatLocation } from '../shared/index.js';
import type { CliIo } from './io.js';
import { loadCliConfig, openService, type GlobalOptions } from './service-factory.js';

export interface OpenedControlPlane {
  readonly controlPlane: ControlPlane;
  readonly config: LoadedConfig;
  /** Closes the control plane and whatever it stands on. */
  close(): Promise<void>;
}

/** The Cinder settings of the configuration, as the adapter's resolver takes them (no secrets here). */
export function cinderSettingsInput(cp: CinderControlPlaneSettings): CinderSettingsInput {
  return {
    cloud: cp.cloud ?? null,
    authType: cp.authType ?? null,
    authUrl: cp.authUrl ?? null,
    username: cp.username ?? null,
    userId: cp.userId ?? null,
    userDomainName: cp.userDomainName ?? null,
    userDomainId: cp.userDomainId ?? null,
    projectName: cp.projectName ?? null,
    projectId: cp.projectId ?? null,
    projectDomainName: cp.projectDomainName ?? null,
    projectDomainId: cp.projectDomainId ?? null,
    applicationCredentialId: cp.applicationCredentialId ?? null,
    applicationCredentialName: cp.applicationCredentialName ?? null,
    passwordFile: cp.passwordFile ?? null,
    applicationCredentialSecretFile: cp.applicationCredentialSecretFile ?? null,
    endpoint: cp.endpoint ?? null,
    region: cp.region ?? null,
    interface: cp.interface ?? null,
    maxMicroversion: cp.maxMicroversion ?? null,
  };
}

/**
 * Opens the control plane of the configuration. A Cinder control plane authenticates and
 * negotiates its microversion here, so that bad settings fail before the command does any work.
 */
export async function openControlPlane(io: CliIo, opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Promise<OpenedControlPlane> {
  const config = await loadCliConfig(opts);
  if (config.controlPlane.type === 'cinder') {
    for (const w of config.warnings) io.stderr(`warning: ${formatLocation(w.location)}: ${w.path ? `${w.path}: ` : ''}${w.message}`);
    const cp = config.controlPlane;
    const controlPlane = openCinderControlPlane(resolveCinderConnection(cinderSettingsInput(cp), env), {
      requestTimeoutMs: cp.requestTimeoutMs,
      retries: cp.retries,
      startGraceMs: cp.startGraceMs,
      settleMs: cp.settleMs,
    });
    await controlPlane.connect();
    return { controlPlane, config, close: () => controlPlane.close() };
  }
  const { service } = await openService(io, opts);
  const controlPlane = new EmbeddedControlPlane(service, { name: config.dataDir });
  return {
    controlPlane,
    config,
    close: async () => {
      await controlPlane.close();
      service.close();
    },
  };
}
