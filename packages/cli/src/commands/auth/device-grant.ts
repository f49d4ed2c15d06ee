/**
 * The two requests of the device authorization grant (RFC 8628 §3.1, §3.4) for the public client
 * `cohera-cli`. The SDK's `OAuth2` covers the code flow, refresh and revocation (used for those), but has
 * no device grant and keeps its form POST private; these are two RFC-standard form posts to fixed
 * endpoints (DESIGN §4), so they are the smallest `fetch` in this one module rather than a second client.
 * The device code is a secret (whoever holds it gets the tokens): it never appears in an error message.
 */
import { ConnectionError, OAuthError } from '../../sdk.ts';
import { CLI_CLIENT_ID } from './session.ts';

export const DEVICE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

export interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string;
  expires_in: number;
  interval?: number;
}

/** The token endpoint's answer: tokens, or an RFC 8628 §3.5 error code to act on. */
export type PollResult =
  | {
      ok: true;
      body: {
        access_token: string;
        token_type: string;
        refresh_token?: string;
        expires_in?: number;
        scope?: string;
      };
    }
  | { ok: false; error: string; description: string | null };

async function postForm(baseUrl: string, path: string, fields: Record<string, string>): Promise<Response> {
  const body = new URLSearchParams({ ...fields, client_id: CLI_CLIENT_ID });
  try {
    return await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new ConnectionError(`POST ${path} failed: could not reach ${baseUrl}`, {
      code: 'connection_error',
      cause: error,
    });
  }
}

async function jsonOf(response: Response): Promise<Record<string, unknown>> {
  try {
    const parsed: unknown = await response.json();
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** §3.1: a device code, a user code and where the person enters it. */
export async function startDeviceAuthorization(
  baseUrl: string,
  scopes: readonly string[],
): Promise<DeviceAuthorization> {
  const response = await postForm(baseUrl, '/oauth/device/auth', { scope: scopes.join(' ') });
  const json = await jsonOf(response);
  if (!response.ok || typeof json.device_code !== 'string' || typeof json.user_code !== 'string') {
    const error = typeof json.error === 'string' ? json.error : `http_${response.status}`;
    const description = typeof json.error_description === 'string' ? json.error_description : null;
    throw new OAuthError(`/oauth/device/auth: ${error}${description ? ` (${description})` : ''}`, {
      status: response.status,
      code: error,
      errorDescription: description,
      requestId: response.headers.get('x-request-id'),
    });
  }
  return json as unknown as DeviceAuthorization;
}

/** §3.4: one poll of the token endpoint. */
export async function pollToken(baseUrl: string, deviceCode: string): Promise<PollResult> {
  const response = await postForm(baseUrl, '/oauth/token', {
    grant_type: DEVICE_GRANT_TYPE,
    device_code: deviceCode,
  });
  const json = await jsonOf(response);
  if (response.ok && typeof json.access_token === 'string' && typeof json.token_type === 'string') {
    return { ok: true, body: json as Extract<PollResult, { ok: true }>['body'] };
  }
  return {
    ok: false,
    error: typeof json.error === 'string' ? json.error : `http_${response.status}`,
    description: typeof json.error_description === 'string' ? json.error_description : null,
  };
}
