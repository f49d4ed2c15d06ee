/**
 * A PostgreSQL server of the test's own (initdb into a temporary directory, `postgres` on a free port), for
 * tests that must freeze, kill and restart the database — which the shared server of the other suites must
 * never suffer. initdb refuses to run as root, so under root the server runs as the `postgres` user.
 *
 * `binaries()` says why they are missing when they are: suites skip on a developer's machine without
 * PostgreSQL, and fail under CI=true, like the other PostgreSQL suites.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { tempDir } from './config.ts';

const run = promisify(execFile);

/** The newest PostgreSQL under /usr/lib/postgresql (Debian's layout), or why there is none. */
export function binaries(): { bin: string } | { missing: string } {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) return { missing: `no PostgreSQL server binaries under ${root}` };
  if (process.getuid?.() === 0 && postgresUser() === null) {
    return { missing: 'running as root and there is no postgres user to run the server as' };
  }
  return { bin: join(root, newest, 'bin') };
}

/** The uid/gid of the `postgres` user, from /etc/passwd. */
function postgresUser(): { uid: number; gid: number } | null {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  return uid && gid ? { uid: Number(uid), gid: Number(gid) } : null;
}

/** Under root the server's files and processes belong to `postgres`; otherwise to the current user. */
function runAs(): { uid: number; gid: number } | Record<string, never> {
  return process.getuid?.() === 0 ? (postgresUser() ?? {}) : {};
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

/** The direct children of a process, from /proc (the postmaster's backends and auxiliary processes). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent pid; the command name (field 2) may contain spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return children;
}

/** Whether a process still runs (a zombie, waiting to be reaped, no longer holds anything). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export class PostgresCluster {
  readonly url: string;
  readonly #bin: string;
  readonly #dir: { path: string; remove(): void };
  readonly #port: number;
  #server: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  /** The server's stderr, for the message of a failed start. */
  output = '';

  private constructor(bin: string, dir: { path: string; remove(): void }, port: number) {
    this.#bin = bin;
    this.#dir = dir;
    this.#port = port;
    this.url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  }

  /** initdb (trust authentication, loopback only) and start. */
  static async create(bin: string): Promise<PostgresCluster> {
    const dir = tempDir('cohera-pg-');
    const owner = runAs();
    if ('uid' in owner) chownSync(dir.path, owner.uid, owner.gid);
    const cluster = new PostgresCluster(bin, dir, await freePort());
    await run(
      join(bin, 'initdb'),
      ['-D', cluster.#dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'],
      { ...owner, env: { ...process.env, LC_ALL: 'C' } },
    );
    await cluster.start();
    return cluster;
  }

  get #dataDir(): string {
    return join(this.#dir.path, 'data');
  }

  /** The postmaster's pid: the spawned process is the postmaster itself (no runuser in between). */
  get pid(): number {
    const pid = this.#server?.pid;
    if (pid === undefined) throw new Error('the PostgreSQL server is not running');
    return pid;
  }

  /** Starts the server (again, after `kill`) on the same port and data, and waits until it accepts queries. */
  async start(): Promise<void> {
    const server = spawn(
      join(this.#bin, 'postgres'),
      [
        '-D',
        this.#dataDir,
        '-p',
        String(this.#port),
        '-k',
        this.#dir.path,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'max_connections=40',
      ],
      { ...runAs(), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    server.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.output += chunk;
    });
    this.#exited = new Promise((resolve) => server.once('exit', () => resolve()));
    this.#server = server;
    await this.waitUntilAccepting();
  }

  async waitUntilAccepting(timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 1000 });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query('select 1');
        return;
      } catch (error) {
        if (Date.now() > until) {
          throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${this.output}`);
        }
        await sleep(100);
      } finally {
        await client.end().catch(() => {});
      }
    }
  }

  /** Every process of the server: the postmaster first, so it forks no new backend meanwhile. */
  #processes(): number[] {
    return [this.pid, ...childrenOf(this.pid)];
  }

  /** SIGSTOP to the postmaster and every backend: a database that accepts TCP and never answers. */
  freeze(): void {
    for (const pid of this.#processes()) process.kill(pid, 'SIGSTOP');
  }

  thaw(): void {
    for (const pid of this.#processes()) process.kill(pid, 'SIGCONT');
  }

  /** SIGKILL to every process of the server (backends too, or the next start finds their shared memory). */
  async kill(): Promise<void> {
    const pids = this.#processes();
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await this.#exited;
    this.#server = null;
    // The next start refuses while a killed backend still holds the shared memory: wait until all are gone.
    const deadline = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < deadline) await sleep(20);
  }

  /** Stops the server if it runs (thawing it first) and removes its files. */
  async destroy(): Promise<void> {
    if (this.#server) {
      try {
        this.thaw();
      } catch {
        // already gone
      }
      this.#server.kill('SIGQUIT'); // immediate shutdown: nothing here needs to survive
      await this.#exited;
      this.#server = null;
    }
    this.#dir.remove();
  }
}
