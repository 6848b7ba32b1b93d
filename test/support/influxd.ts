/**
 * A real InfluxDB 1.x server for tests: Debian's `influxd`, started on 127.0.0.1 with free ports,
 * its configuration, metadata, data and WAL in a temporary directory, ready once `/ping` answers,
 * stopped (and the directory removed) afterwards. When `influxd` is not installed this FAILS with
 * how to install it: tests that need InfluxDB never skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running influxd. */
export interface InfluxServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly httpPort: number;
  readonly dir: string;
  /** Stops the server (SIGTERM, then SIGKILL after 10 s); the data directory stays for a restart. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data (after {@link stop}). */
  restart(): Promise<void>;
  /** Stops the server and removes its directory. */
  cleanup(): Promise<void>;
  /** The server's output so far (for failure messages). */
  log(): string;
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function influxdBinary(): string {
  const found = spawnSync('sh', ['-c', 'command -v influxd'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || path.length === 0) {
    throw new Error("influxd is not installed: these tests need a real InfluxDB 1.x. Install it with 'bash scripts/install-system-deps.sh' (Debian package influxdb).");
  }
  return path;
}

async function pingOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
    return res.status === 204;
  } catch {
    return false;
  }
}

/** Starts influxd; resolves once `/ping` answers 204 (at most `timeoutMs`). */
export async function startInfluxd(opts: { timeoutMs?: number } = {}): Promise<InfluxServer> {
  const bin = influxdBinary();
  const dir = await mkdtemp(join(tmpdir(), 'ballast-influxd-'));
  const [httpPort, rpcPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${httpPort}`;
  const conf = join(dir, 'influxdb.conf');
  await writeFile(
    conf,
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${rpcPort}"`,
      '[meta]',
      `  dir = "${join(dir, 'meta')}"`,
      '[data]',
      `  dir = "${join(dir, 'data')}"`,
      `  wal-dir = "${join(dir, 'wal')}"`,
      '  query-log-enabled = false',
      '[monitor]',
      '  store-enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${httpPort}"`,
      '  log-enabled = false',
      '[logging]',
      '  level = "warn"',
      '  suppress-logo = true',
      '[continuous_queries]',
      '  enabled = false',
      '[retention]',
      '  enabled = false',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | null = null;
  let output = '';
  const launch = async (): Promise<void> => {
    const c = spawn(bin, ['-config', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    c.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    for (;;) {
      if (c.exitCode !== null) throw new Error(`influxd exited with ${c.exitCode} before answering /ping:\n${output.slice(-4000)}`);
      if (await pingOk(url)) return;
      if (Date.now() > deadline) {
        c.kill('SIGKILL');
        throw new Error(`influxd did not answer ${url}/ping within ${opts.timeoutMs ?? 30_000} ms:\n${output.slice(-4000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await launch();
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url,
    httpPort,
    dir,
    stop,
    restart: launch,
    cleanup: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
    log: () => output,
  };
}
