/**
 * `audit_log` — the checklist's "audit logging enabled": Cohera records every security event, so the
 * question is whether the log can be trusted: its hash chain must verify (`GET /v1/audit-events/verify`),
 * or someone edited, removed or inserted stored events.
 */
import type { AuditVerification } from '../../sdk.ts';
import { type DoctorCheck, plural } from '../check.ts';

export const TITLE = 'Audit logging enabled and its chain verifying';

export function auditLog(audit: AuditVerification): DoctorCheck {
  if (audit.ok) {
    return {
      id: 'audit_log',
      status: 'pass',
      title: TITLE,
      detail: `audit log on; ${plural(audit.checked, 'event')} checked, the chain verifies`,
      fix: null,
    };
  }
  return {
    id: 'audit_log',
    status: 'fail',
    title: TITLE,
    detail: `the audit chain does not verify: ${audit.reason ?? 'unknown reason'}${
      audit.first_bad ? ` at ${audit.first_bad}` : ''
    } (stored events were edited, removed or inserted)`,
    fix: 'treat it as an incident: see docs/audit.md (Tamper evidence); `cohera audit verify` shows it again',
  };
}
