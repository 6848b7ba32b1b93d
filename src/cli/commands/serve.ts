/**
 * `ballast serve` (issue 6): being built; this placeholder only reserves the registration in program.ts.
 *
 * @module
 */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';

export function registerServeCommands(_program: Command, _io: CliIo): void {}
