// Rotate an API key without downtime: roll it (the old key keeps working for a grace period), check that
// the new key works, deploy it, and let the old one expire. Needs an admin key.
//   COHERA_API_KEY=<admin key> COHERA_BASE_URL=http://127.0.0.1:8080 node rotate-key.ts key_…
import { Cohera } from 'cohera';

const keyId = process.argv[2];
if (!keyId) throw new Error('usage: node rotate-key.ts <key id>');

const admin = new Cohera();
const rolled = await admin.apiKeys.roll(keyId, { grace_period_seconds: 3600 });
// rolled.key is shown this once: put it in your secret manager now.

const check = new Cohera({ apiKey: rolled.key, baseUrl: admin.baseUrl });
const who = await check.whoami();
console.log(JSON.stringify({ new_key: rolled.id, works: who.id === rolled.id, scopes: who.scopes }));

const old = await admin.apiKeys.get(keyId);
console.log(JSON.stringify({ old_key: old.id, expires_at: old.expires_at }));
