/**
 * Client secrets cannot be guessed at speed either (DESIGN §5.2): failed client authentication at the
 * token, revocation and introspection endpoints counts towards the IP's block, like failed API credentials,
 * and a blocked IP gets a 429 with Retry-After before the engine looks at the request.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createOrg, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import {
  authorize,
  Browser,
  type OAuthTestServer,
  postForm,
  type RegisteredClient,
  registerClient,
  startOAuthServer,
} from '../support/oauth.ts';

forEachEngine('oauth: failed client authentication', (_engine, handle) => {
  let t: OAuthTestServer;
  let org: TestOrg;
  let client: RegisteredClient;

  before(async () => {
    t = await startOAuthServer(handle(), {
      abuseLimits: {
        authFailuresPerMinute: 3,
        loginFailuresPerIpPerMinute: 1_000,
        loginFailuresPerAccountPer15Minutes: 1_000,
      },
    });
    org = await createOrg(t.app);
    client = await registerClient(t, org.adminKey);
  });
  after(() => t.close());

  test('three wrong secrets, then 429 with Retry-After even for the right one; API keys are blocked too', async () => {
    const tokens = await authorize(t, new Browser(t.baseUrl), org, client, ['read:certificates']);
    const wrong = { client_id: client.client_id, client_secret: 'cs_wrong_wrong_wrong_wrong_wrong_wrong' };
    const endpoints = [
      t.as.token_endpoint,
      t.as.introspection_endpoint,
      t.as.revocation_endpoint,
    ] as string[];
    for (const url of endpoints) {
      const response = await postForm(
        url,
        { token: tokens.refresh_token, grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
        wrong,
      );
      assert.equal(response.status, 401, url);
    }
    const blocked = await postForm(
      t.as.token_endpoint as string,
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
      client,
    );
    assert.equal(blocked.status, 429);
    assert.match(blocked.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    assert.equal(((await blocked.json()) as { error: string }).error, 'invalid_request');
    // One block per IP, whatever the credential: the API refuses this IP's requests too.
    const api = await fetch(`${t.baseUrl}/v1/certificates`, {
      headers: { authorization: `Bearer ${org.adminKey}` },
    });
    assert.equal(api.status, 429);
  });
});
