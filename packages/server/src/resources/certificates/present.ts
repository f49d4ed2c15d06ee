/**
 * A certificate as the API shows it (`Certificate` in routes.ts): the routes, the certificate webhook
 * events and the expiry scheduler share this serializer, so an event's `data` is exactly the API's object.
 */
import { apiTime } from '../../clock.ts';
import { type CertificateRecord, statusAt } from './repository.ts';

export function presentCertificate(row: CertificateRecord, now: number) {
  return {
    id: row.id,
    object: 'certificate' as const,
    standard: row.standard,
    number: row.number,
    issuer: row.issuer,
    supplier_id: row.supplier_id,
    product_ids: row.product_ids,
    issued_at: apiTime(row.issued_at),
    expires_at: apiTime(row.expires_at),
    status: statusAt(row, now),
    created_at: apiTime(row.created_at),
    updated_at: apiTime(row.updated_at),
  };
}
