/**
 * Reading configuration from the environment without assuming Node: `process.env` on Node and Bun (and
 * Deno 2), `Deno.env` otherwise (which throws without `--allow-env`: then there is no environment),
 * and nothing in a browser.
 */

interface Runtime {
  process?: { env?: Record<string, string | undefined> };
  Deno?: { env?: { get(name: string): string | undefined } };
}

export function readEnv(name: string): string | undefined {
  const runtime = globalThis as Runtime;
  try {
    const value = runtime.process?.env?.[name] ?? runtime.Deno?.env?.get(name);
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  } catch {
    return undefined;
  }
}

/** Browsers forbid setting `User-Agent`; everywhere else it tells the server which client is calling. */
export const isBrowser =
  typeof (globalThis as { document?: unknown }).document !== 'undefined' &&
  typeof (globalThis as { window?: unknown }).window !== 'undefined';
