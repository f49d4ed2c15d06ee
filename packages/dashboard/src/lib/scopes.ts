/**
 * Scopes as the Create-key dialog shows them: grouped by resource, read and write, the wildcards and
 * `admin`. The rules are the server's (DESIGN §3): `admin` implies everything, `write:X` implies `read:X`,
 * `read:*`/`write:*` cover every resource. A selection is sent in its smallest form, so a key lists what it
 * means and no more.
 */
import { hasScope, isScope } from '../../../shared/src/scopes.ts';
import type { Scope } from '../api/types.ts';

export const RESOURCES = [
  { id: 'certificates', label: 'Certificates' },
  { id: 'suppliers', label: 'Suppliers' },
  { id: 'products', label: 'Products' },
] as const;

export type Resource = (typeof RESOURCES)[number]['id'];

export const SCOPE_WORDS: Record<Scope, string> = {
  'read:certificates': 'Read certificate data',
  'write:certificates': 'Create and update certificates',
  'read:suppliers': 'Read supplier data',
  'write:suppliers': 'Create and update suppliers',
  'read:products': 'Read product data',
  'write:products': 'Create and update products',
  'read:*': 'Read every resource',
  'write:*': 'Create and update every resource',
  admin: 'Full access to all resources, keys, apps and the audit log',
};

/** Whether holding `held` grants `wanted`: the server's own rule (@cohera/shared), not a copy of it. */
export function grants(held: readonly string[], wanted: string): boolean {
  return isScope(wanted) && hasScope(held, wanted);
}

/** The smallest set that grants the same: implied scopes dropped, in a stable order. */
export function normalize(selected: readonly string[]): Scope[] {
  const order = Object.keys(SCOPE_WORDS) as Scope[];
  const unique = order.filter((scope) => selected.includes(scope));
  return unique.filter((scope) => !unique.some((other) => other !== scope && grants([other], scope)));
}

/** Toggles one checkbox, keeping the selection normalized. */
export function toggle(selected: readonly string[], scope: Scope, on: boolean): Scope[] {
  if (on) return normalize([...selected, scope]);
  // Turning off a scope that another still implies would be a no-op: drop the implying one too.
  return normalize(selected.filter((s) => s !== scope && !grants([s], scope)));
}

/** What the hint under the scope picker says. */
export function leastPrivilegeHint(selected: readonly string[]): { level: 'info' | 'warn'; text: string } {
  // Not "Choose at least one scope.": the forms say that as their field error, and saying it twice (hint
  // and error, side by side) reads as two problems.
  if (selected.length === 0)
    return { level: 'info', text: 'Tick only what the credential needs: read or write per resource.' };
  if (selected.includes('admin')) {
    return {
      level: 'warn',
      text: 'admin grants full access, including creating and revoking keys. Use it only for tools that manage Cohera itself.',
    };
  }
  if (selected.includes('write:*') || selected.includes('read:*')) {
    return {
      level: 'warn',
      text: 'Wildcards cover every resource, including ones added later. Prefer the resources this key needs.',
    };
  }
  return {
    level: 'info',
    text: 'Least privilege: give the key only what it needs. Write includes read.',
  };
}
