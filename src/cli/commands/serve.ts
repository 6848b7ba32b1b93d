/**
 * `ballast serve`: opens the embedded block service and serves the HTTP API (Cinder v3-compatible
 * today; Ballast's own API joins as more route modules) until SIGTERM or SIGINT, then stops
 * gracefully: no new requests, in-flight ones answered, running moves finished or rolled back.
 *
 * @module
 */
import type { Command } from 'commander';
import { startApiServer, type ApiServer, type LogSink } from '../../api/index.js';
import type { BlockService } from '../../blockstore/index.js';
import { reportError, type CliIo } from '../io.js';
import { openService } from '../service-factory.js';
import { globals } from './common.js';

interface ServeFlags {
  listen?: string;
}

/** Access and event log: JSON lines, or short human lines on a terminal. */
function logSink(io: CliIo): LogSink {
  if (!io.isTTY) return (e) => io.stderr(JSON.stringify(e));
  return (e) => {
    const time = typeof e['ts'] === 'string' ? e['ts'].slice(11, 19) : '';
    if (e['msg'] === 'request') {
      io.stderr(`${time} ${String(e['method'])} ${String(e['path'])} ${String(e['status'])} ${String(e['duration_ms'])}ms ${String(e['user'] ?? '-')} ${String(e['request_id'])}`);
    } else {
      const { ts: _ts, level, msg, ...rest } = e;
      io.stderr(`${time} ${String(level)} ${String(msg)} ${JSON.stringify(rest)}`);
    }
  };
}

/** Resolves on the first SIGTERM or SIGINT. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(sig);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

export function registerServeCommands(program: Command, io: CliIo): void {
  program
    .command('serve')
    .description('serve the Cinder v3-compatible HTTP API over the embedded block service until SIGTERM/SIGINT')
    .option('--listen <host:port>', 'listen address (default: api.listen of the config, 127.0.0.1:8776; port 0 picks one)')
    .action(async (opts: ServeFlags, cmd: Command) => {
      const g = globals(cmd);
      let service: BlockService | null = null;
      let server: ApiServer | null = null;
      const log = logSink(io);
      try {
        const opened = await openService(io, g);
        service = opened.service;
        const stop = untilSignal();
        server = await startApiServer({
          service,
          api: opened.config.api,
          configTypeNames: opened.config.volumeTypes.map((t) => t.name),
          ...(opts.listen !== undefined ? { listen: opts.listen } : {}),
          log,
        });
        io.stdout(`Ballast API listening on ${server.url} (Cinder v3 endpoint: ${server.url}/v3)`);
        const sig = await stop;
        log({ ts: new Date().toISOString(), level: 'info', msg: 'stopping', signal: sig, moves_running: server.moves.active });
        await server.close();
        log({ ts: new Date().toISOString(), level: 'info', msg: 'stopped' });
      } catch (e) {
        reportError(io, e, g.json === true);
        await server?.close({ moveGraceMs: 0 });
      } finally {
        service?.close();
      }
    });
}
