/**
 * A throw-away `redis-server` a test owns: on a free port, no persistence, so it can be frozen (SIGSTOP:
 * the port stays open and nothing answers, as with a stalled VM), thawed, killed and restarted without
 * disturbing any other suite.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from './server-process.ts';

export class RedisServer {
  readonly port: number;
  readonly url: string;
  readonly #dir: string;
  #child: ChildProcess | undefined;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.#dir = dir;
  }

  /** Starts one on a free port in `dir` (its working directory); resolves once it answers PING. */
  static async start(dir: string): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), dir);
    await server.restart();
    return server;
  }

  /** Starts (again) on the same port, empty: what a Redis without persistence is after a restart. */
  async restart(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        // DEBUG SLEEP from the test itself: a Redis that is alive but slow for a moment.
        '--enable-debug-command',
        'local',
        '--dir',
        this.#dir,
      ],
      { stdio: 'ignore' },
    );
    this.#child = child;
    const probe = new Redis(this.port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => {});
    try {
      for (let i = 0; i < 200; i++) {
        if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
        try {
          if (probe.status !== 'ready') await probe.connect();
          if ((await probe.ping()) === 'PONG') return;
        } catch {
          await sleep(25);
        }
      }
      throw new Error(`redis-server did not answer on port ${this.port}`);
    } finally {
      probe.disconnect();
    }
  }

  /** SIGSTOP: connections stay open, nothing is answered. */
  freeze(): void {
    this.#child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.#child?.kill('SIGCONT');
  }

  /** SIGKILL (which also ends a frozen process), and waits for the exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** A client for assertions, reconnecting quickly across restarts. */
  client(): Redis {
    const client = new Redis(this.port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => 100 });
    client.on('error', () => {});
    return client;
  }
}
