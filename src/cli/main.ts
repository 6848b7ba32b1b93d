#!/usr/bin/env node
import { processIo, reportError } from './io.js';
import { runCli } from './program.js';

runCli(process.argv.slice(2), processIo).catch((e: unknown) => {
  reportError(processIo, e, process.argv.includes('--json'));
});
