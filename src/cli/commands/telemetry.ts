/**
 * ballast telemetry … and ballast inventory … (issue 8): being built; this placeholder only reserves the registration in program.ts.
 *
 * @module
 */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';

export function registerTelemetryCommands(_program: Command, _io: CliIo): void {}
