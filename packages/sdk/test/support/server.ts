/**
 * A real Cohera server on loopback for the SDK's tests: the same app `cohera server` runs, on SQLite in a
 * temporary directory, listening on a free port whose address is also its public URL (the OAuth issuer).
 * The SDK under test talks to it over real HTTP.
 */
import type { ManualClock } from '../../../server/src/clock.ts';
import { createKey, createOrg, type TestOrg } from '../../../server/test/support/app.ts';
import { type EngineHandle, prepareEngine } from '../../../server/test/support/engines.ts';
import { type OAuthTestServer, startOAuthServer } from '../../../server/test/support/oauth.ts';

export { createKey, createOrg, type TestOrg };

export interface SdkTestServer {
  server: OAuthTestServer;
  baseUrl: string;
  org: TestOrg;
  clock: ManualClock | null;
  close(): Promise<void>;
}

export async function startServer(
  options: { clock?: ManualClock; env?: Record<string, string>; tier?: 'free' | 'pro' | 'enterprise' } = {},
): Promise<SdkTestServer> {
  const handle: EngineHandle = await prepareEngine('sqlite');
  const server = await startOAuthServer(handle, {
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  const org = await createOrg(server.app, options.tier ?? 'pro');
  return {
    server,
    baseUrl: server.baseUrl,
    org,
    clock: options.clock ?? null,
    close: async () => {
      await server.close();
      await handle.cleanup();
    },
  };
}

/** A `fetch` that records every request it passes on (method, path, headers), for assertions. */
export function recordingFetch(inner: typeof fetch = fetch): {
  fetch: typeof fetch;
  requests: { method: string; path: string; headers: Headers }[];
} {
  const requests: { method: string; path: string; headers: Headers }[] = [];
  const wrapped: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    requests.push({
      method: init?.method ?? 'GET',
      path: url.pathname + url.search,
      headers: new Headers(init?.headers),
    });
    return inner(input, init);
  };
  return { fetch: wrapped, requests };
}
