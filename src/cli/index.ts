// The CLI's public surface, for the benchmark and other composition roots.
export { makeExportLauncher } from './exporter-launcher.js';
export { buildProgram, runCli } from './program.js';
export { hypervisorSettings, serviceOptions } from './service-factory.js';
