/**
 * `--revoke`: hands the keys found to the server's public revoke endpoint through the SDK (no credential
 * needed or sent), after the user said yes on a terminal, or with `--yes`.
 */
import { createInterface } from 'node:readline/promises';
import type { Readable } from 'node:stream';

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080';

export async function revokeKeys(
  keys: string[],
  baseUrl: string,
): Promise<{ base_url: string; received: number }> {
  // Loaded only here: a scan without --revoke does not pay for the SDK's start-up.
  const { Cohera } = await import('../../../sdk/src/index.ts');
  const client = new Cohera({ anonymous: true, baseUrl });
  const { received } = await client.credentials.revoke(keys);
  return { base_url: client.baseUrl, received };
}

/** Asks on the terminal; only "y" or "yes" is a yes. */
export async function confirm(
  question: string,
  input: Readable,
  output: NodeJS.WritableStream,
): Promise<boolean> {
  const prompt = createInterface({ input, output, terminal: false });
  try {
    const answer = await prompt.question(question);
    return /^\s*y(es)?\s*$/i.test(answer);
  } finally {
    prompt.close();
  }
}
