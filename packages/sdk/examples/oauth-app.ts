// A web app that signs users in with Cohera (authorization code + PKCE) and shows their certificates.
//   COHERA_CLIENT_ID=cli_… COHERA_CLIENT_SECRET=cs_… COHERA_BASE_URL=http://127.0.0.1:8080 PORT=3000 node oauth-app.ts
// Register http://127.0.0.1:3000/callback as the app's redirect URI in the developer console.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { Cohera } from 'cohera';
import { OAuth2, OAuthError, type Tokens } from 'cohera/auth';

const port = Number(process.env.PORT ?? 3000);
const oauth = new OAuth2({ redirectUri: `http://127.0.0.1:${port}/callback` }); // COHERA_CLIENT_ID/SECRET

// Per-browser session, kept on the server: the PKCE verifier, the state, then the tokens. Never in the URL.
interface Session {
  state?: string;
  codeVerifier?: string;
  tokens?: Tokens;
}
const sessions = new Map<string, Session>();

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
  const sid =
    /(?:^|;\s*)sid=([\w-]+)/.exec(req.headers.cookie ?? '')?.[1] ?? randomBytes(16).toString('base64url');
  const session = sessions.get(sid) ?? {};
  sessions.set(sid, session);
  res.setHeader('set-cookie', `sid=${sid}; HttpOnly; SameSite=Lax; Path=/`);
  try {
    if (url.pathname === '/login') {
      // Step 1: send the user to Cohera.
      const {
        url: authUrl,
        state,
        codeVerifier,
      } = await oauth.getAuthorizationUrl({
        scopes: ['read:certificates', 'read:suppliers'],
      });
      Object.assign(session, { state, codeVerifier });
      res.writeHead(302, { location: authUrl }).end();
    } else if (url.pathname === '/callback') {
      // Step 2: back from Cohera: check the state, exchange the code.
      const code = oauth.parseCallback(url, { state: session.state ?? '' });
      session.tokens = await oauth.exchangeCode(code, { codeVerifier: session.codeVerifier ?? '' });
      delete session.state;
      delete session.codeVerifier;
      res.writeHead(302, { location: '/' }).end();
    } else if (url.pathname === '/' && session.tokens) {
      // Step 3: call the API as the user; step 4: refresh when needed.
      if (session.tokens.isExpired) session.tokens = await oauth.refreshToken(session.tokens.refreshToken);
      const client = new Cohera({ accessToken: session.tokens.accessToken, baseUrl: oauth.baseUrl });
      const certificates = await client.certificates.list();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ certificates: certificates.data.map((c) => c.number) }));
    } else {
      res.writeHead(302, { location: '/login' }).end();
    }
  } catch (error) {
    // access_denied when the user said no; state_mismatch for a forged callback.
    const status = error instanceof OAuthError ? 400 : 500;
    res
      .writeHead(status, { 'content-type': 'text/plain' })
      .end(error instanceof OAuthError ? error.code : 'error');
  }
});
server.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ listening: port })));
