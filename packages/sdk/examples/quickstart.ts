// Quickstart: an API key from the environment, supply-chain data in and out, pagination, typed errors.
//   COHERA_API_KEY=ck_live_… COHERA_BASE_URL=http://127.0.0.1:8080 node quickstart.ts
import { Cohera, RateLimitError, ValidationError } from 'cohera';

const client = new Cohera(); // reads COHERA_API_KEY (and COHERA_BASE_URL)

const supplier = await client.suppliers.create({ name: 'Acme Metals GmbH', country: 'DE' });
const product = await client.products.create({
  name: 'Steel bolt M8',
  sku: 'ACME-M8',
  supplier_id: supplier.id,
});
const certificate = await client.certificates.create({
  standard: 'ISO 9001',
  number: 'QMS-2026-0042',
  issuer: 'TÜV SÜD',
  supplier_id: supplier.id,
  product_ids: [product.id],
  issued_at: new Date('2026-01-15'),
  expires_at: '2027-01-31', // a plain date means the end of that day, UTC
});
console.log(JSON.stringify({ created: certificate.id, status: certificate.status }));

// Awaited, list() is one page; iterated, it walks every page.
const page = await client.certificates.list({ limit: 10 });
console.log(JSON.stringify({ first_page: page.data.length, more: page.hasNextPage() }));
let valid = 0;
for await (const cert of client.certificates.list({ status: 'valid', supplier_id: supplier.id })) {
  if (cert.status === 'valid') valid++;
}
console.log(JSON.stringify({ valid }));

try {
  await client.suppliers.create({ name: 'Nowhere Ltd', country: 'XX' });
} catch (error) {
  if (error instanceof ValidationError) {
    console.log(JSON.stringify({ invalid: error.errors.map((e) => e.field), request_id: error.requestId }));
  } else if (error instanceof RateLimitError) {
    console.log(`slow down: retry in ${error.retryAfter} s`);
  } else {
    throw error;
  }
}

console.log(JSON.stringify({ rate_limit: client.lastRateLimit }));
