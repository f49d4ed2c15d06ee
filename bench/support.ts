/**
 * Process plumbing for the benchmarks: child processes that are always killed (on success, error, SIGINT
 * and SIGTERM), temp dirs that are always removed, free ports, readiness polling, CPU pinning and the CPU
 * time a process spent (to tell whether the server or the load generator was the bottleneck).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** Kills every child still running and removes every temp dir, synchronously (safe in an exit handler). */
export function cleanupNow(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

let handlersInstalled = false;
/** Installs exit/signal handlers once: whatever happens, no server outlives the bench. */
export function installCleanupHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', cleanupNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping\n`);
      cleanupNow();
      process.exit(130);
    });
  }
}

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether an executable is on PATH (what `command -v` answers). */
export function onPath(command: string): boolean {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .some((dir) => dir !== '' && existsSync(join(dir, command)));
}

/** CPU to pin a role to: the server gets core 0, the load generator core 1 (when there are two cores). */
export type Role = 'server' | 'load';

const pinning =
  process.env.BENCH_PIN !== '0' &&
  process.platform === 'linux' &&
  availableParallelism() >= 2 &&
  onPath('taskset');

export function pinningEnabled(): boolean {
  return pinning;
}

export interface Spawned {
  child: ChildProcess;
  /** Everything the child wrote to stderr so far (for error messages). */
  stderr(): string;
  /** Resolves with the exit code once the child has exited. */
  exited: Promise<number | null>;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  role: Role;
  stdout?: 'pipe' | 'ignore';
  nodeArgs?: readonly string[];
  /**
   * A command that runs Node, before it (`valgrind --tool=callgrind …` in the instruction-count mode). It
   * must not fork: the child's pid stays the pid of the process running the script.
   */
  wrapper?: readonly string[];
}

/**
 * Spawns a Node script with the same Node binary (the pinned one when run through npm), pinned to the
 * role's core when possible. The child is registered for cleanup.
 */
export function spawnNode(script: string, args: readonly string[], options: SpawnOptions): Spawned {
  const nodeArgs = ['--disable-warning=ExperimentalWarning', ...(options.nodeArgs ?? []), script, ...args];
  const wrapped = [...(options.wrapper ?? []), process.execPath, ...nodeArgs];
  const [command, ...commandArgs] = pinning
    ? ['taskset', '-c', options.role === 'server' ? '0' : '1', ...wrapped]
    : wrapped;
  if (command === undefined) throw new Error('spawnNode: nothing to run');
  const child = spawn(command, commandArgs, {
    env: options.env ?? process.env,
    stdio: ['ignore', options.stdout ?? 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    });
    child.once('error', () => {
      children.delete(child);
      resolve(null);
    });
  });
  return { child, stderr: () => stderr, exited };
}

/** Runs a Node script to completion and returns its stdout; throws with its stderr if it fails. */
export async function runNode(
  script: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; role: Role; timeoutMs: number },
): Promise<string> {
  const spawned = spawnNode(script, args, options);
  let stdout = '';
  spawned.child.stdout?.setEncoding('utf8');
  spawned.child.stdout?.on('data', (chunk: string) => {
    stdout += chunk;
  });
  const timer = setTimeout(() => spawned.child.kill('SIGKILL'), options.timeoutMs);
  const code = await spawned.exited;
  clearTimeout(timer);
  if (code !== 0) {
    throw new Error(`${script} ${args.join(' ')} exited with ${code}:\n${spawned.stderr().trim()}`);
  }
  return stdout;
}

/** Stops a child: SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function stop(spawned: Spawned, graceMs = 5000): Promise<void> {
  const { child } = spawned;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await spawned.exited;
  clearTimeout(timer);
}

/** Polls `url` until it answers 200, the child exits, or the timeout passes. */
export async function waitUntilReady(url: string, spawned: Spawned, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void spawned.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`server exited before it was ready:\n${spawned.stderr().trim()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`server at ${url} not ready after ${timeoutMs} ms:\n${spawned.stderr().trim()}`);
}

let clockTicks: number | null = null;
function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User and system CPU seconds a live process has used so far (Linux /proc), or null where unknown. */
export function cpuTimes(pid: number | undefined): { user: number; system: number } | null {
  if (pid === undefined || process.platform !== 'linux') return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    const ticks = ticksPerSecond();
    return { user: Number(fields[11]) / ticks, system: Number(fields[12]) / ticks };
  } catch {
    return null;
  }
}

/** User + system CPU seconds a live process has used so far (Linux /proc), or null where unknown. */
export function cpuSeconds(pid: number | undefined): number | null {
  const times = cpuTimes(pid);
  return times === null ? null : times.user + times.system;
}

/** CPU seconds this process's exited, reaped children used (e.g. wrk), or null where unknown. */
export function reapedChildrenCpuSeconds(): number | null {
  if (process.platform !== 'linux') return null;
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // cutime and cstime are fields 16 and 17 of the whole line, 14 and 15 after the name.
    return (Number(fields[13]) + Number(fields[14])) / ticksPerSecond();
  } catch {
    return null;
  }
}

/** CPU seconds the whole machine has been busy (all processes, all cores), or null where unknown. */
export function machineBusySeconds(): number | null {
  if (process.platform !== 'linux') return null;
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice
    const [user, nice, system, , , irq, softirq] = line.trim().split(/\s+/).slice(1).map(Number);
    const busy = [user, nice, system, irq, softirq].reduce<number>((sum, n) => sum + (n ?? 0), 0);
    return busy / ticksPerSecond();
  } catch {
    return null;
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
}

/** Reads a positive whole number from the environment. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a whole number ≥ 1, got "${raw}"`);
  return value;
}
