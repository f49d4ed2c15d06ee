/** The roles as people read them (docs/team.md#roles), in the order the selects offer them. */
import type { Role } from '../../api/types.ts';

export const ROLE_OPTIONS: readonly { role: Role; label: string; description: string }[] = [
  { role: 'viewer', label: 'Viewer', description: 'reads data' },
  { role: 'member', label: 'Member', description: 'reads and writes data, manages their own API keys' },
  { role: 'admin', label: 'Admin', description: 'everything except managing owners' },
  { role: 'owner', label: 'Owner', description: 'everything, including managing owners' },
];

/** What the signed-in person may hand out: only an owner gives or takes the owner role. */
export function assignableRoles(myRole: Role): readonly Role[] {
  return ROLE_OPTIONS.map((option) => option.role).filter((role) => role !== 'owner' || myRole === 'owner');
}

export function roleLabel(role: Role): string {
  return ROLE_OPTIONS.find((option) => option.role === role)?.label ?? role;
}
