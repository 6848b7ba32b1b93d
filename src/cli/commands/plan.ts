/**
 * ballast plan (issue 10): being built; this placeholder only reserves the registration in program.ts.
 *
 * @module
 */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';

export function registerPlanCommands(_program: Command, _io: CliIo): void {}
