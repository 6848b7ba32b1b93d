/**
 * Opens the control plane a configuration selects, for one CLI command. Today: the embedded block
 * service of the deployment. The OpenStack Cinder adapter (issue 7) adds its branch here.
 *
 * @module
 */
import { EmbeddedControlPlane } from '../controlplane/index.js';
import type { LoadedConfig } from '../config/index.js';
import type { ControlPlane } from '../model/index.js';
import type { CliIo } from './io.js';
import { openService, type GlobalOptions } from './service-factory.js';

export interface OpenedControlPlane {
  readonly controlPlane: ControlPlane;
  readonly config: LoadedConfig;
  /** Closes the control plane and whatever it stands on. */
  close(): Promise<void>;
}

export async function openControlPlane(io: CliIo, opts: GlobalOptions): Promise<OpenedControlPlane> {
  const { service, config } = await openService(io, opts);
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
