/**
 * `cohera doctor`: the reference's security checklist ("API keys in environment variables; .env files in
 * .gitignore; different keys for dev/staging/prod; minimal scopes per environment; webhook signatures
 * validated; audit logging enabled"), answered for a project directory and for the org of the credential.
 * What is read (files, history, the API) is gathered first, project and org at once; each item is then a
 * small pure function of it (project/*.ts, org/*.ts), in the checklist's order.
 */
import { type DoctorCheck, type DoctorReport, summarize } from './check.ts';
import { KeyIndex } from './keys.ts';
import { TITLE as AUDIT_LOG, auditLog } from './org/audit-log.ts';
import type { OrgData } from './org/gather.ts';
import { TITLE as KEY_ROTATION, keyRotation } from './org/key-rotation.ts';
import { TITLE as LEAKED_KEYS, leakedKeys } from './org/leaked-keys.ts';
import { TITLE as MINIMAL_SCOPES, minimalScopes } from './org/minimal-scopes.ts';
import { TITLE as WEBHOOK_SIGNATURES, webhookSignatures } from './org/webhooks.ts';
import { envFilesIgnored } from './project/env-ignored.ts';
import { gatherProject } from './project/gather.ts';
import { keysInTrackedFiles } from './project/keys-in-files.ts';
import { keysInGitHistory } from './project/keys-in-history.ts';
import { keysPerEnvironment } from './project/keys-per-environment.ts';

/** The org items, in order, with their titles for when they are skipped. */
const ORG_ITEMS: Array<[id: string, title: string]> = [
  ['minimal_scopes', MINIMAL_SCOPES],
  ['key_rotation', KEY_ROTATION],
  ['webhook_signatures', WEBHOOK_SIGNATURES],
  ['audit_log', AUDIT_LOG],
  ['leaked_keys', LEAKED_KEYS],
];

export interface DoctorRun {
  report: DoctorReport;
  /** Why the org items could not be answered when a call failed (doctor then exits 1), else null. */
  error: string | null;
}

function orgChecks(org: OrgData): DoctorCheck[] {
  if (org.state === 'ok') {
    return [
      minimalScopes(org.report),
      keyRotation(org.report),
      webhookSignatures(org.endpoints),
      auditLog(org.audit),
      leakedKeys(org.report),
    ];
  }
  const detail = `skipped: ${org.detail}`;
  const fix = org.state === 'skipped' ? org.fix : null;
  return ORG_ITEMS.map(([id, title]) => ({ id, status: 'skip', title, detail, fix }));
}

export async function runDoctor(
  dir: string,
  org: () => Promise<OrgData>,
  progress: (text: string) => void,
): Promise<DoctorRun> {
  const [project, orgData] = await Promise.all([gatherProject(dir, progress), org()]);
  const keys = new KeyIndex(orgData.state === 'ok' ? orgData.keys : null);
  const checks = [
    keysInTrackedFiles(project, keys),
    keysInGitHistory(project, keys),
    envFilesIgnored(project),
    keysPerEnvironment(project),
    ...orgChecks(orgData),
  ];
  return {
    report: { checks, summary: summarize(checks) },
    error: orgData.state === 'error' ? orgData.detail : null,
  };
}
