// Service accounts: load service-account.json, mint a short-lived JWT, or let the client mint and renew.
//   COHERA_SERVICE_ACCOUNT_FILE=./service-account.json node service-account.ts
import { Cohera } from 'cohera';
import { ServiceAccount } from 'cohera/auth';

const sa = await ServiceAccount.fromFile(process.env.COHERA_SERVICE_ACCOUNT_FILE ?? 'service-account.json');

// One token, used explicitly (an hour at most: mint one per hour, not one per request).
const token = await sa.generateToken({ scopes: ['read:certificates'], expiresIn: 3600 });
const client = new Cohera({ accessToken: token, baseUrl: sa.apiBaseUrl });
const page = await client.certificates.list({ limit: 5 });
console.log(JSON.stringify({ with_token: page.data.length }));

// Or hand the account to the client: it mints a token, reuses it, and renews it before it expires.
const managed = new Cohera({ serviceAccount: sa, scopes: ['read:certificates'] });
const me = await managed.whoami();
console.log(JSON.stringify({ kind: me.kind, id: me.id, scopes: me.scopes }));
