/** The API's view of members and invitations (DESIGN §4 Team). */
import { Type } from 'typebox';
import { apiTime } from '../clock.ts';
import type { InvitationsTable } from '../storage/schema.ts';
import type { MemberRow } from './members-repository.ts';

export const RoleSchema = Type.Union([
  Type.Literal('owner'),
  Type.Literal('admin'),
  Type.Literal('member'),
  Type.Literal('viewer'),
]);

export const Member = Type.Object(
  {
    object: Type.Literal('member'),
    user_id: Type.String(),
    email: Type.String(),
    role: RoleSchema,
    joined_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'Member' },
);

export const Invitation = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('invitation'),
    email: Type.String(),
    role: RoleSchema,
    created_at: Type.String({ format: 'date-time' }),
    expires_at: Type.String({ format: 'date-time' }),
    status: Type.Union([Type.Literal('pending'), Type.Literal('expired')], {
      description: 'Listed invitations are pending; one past `expires_at` can no longer be accepted',
    }),
    invited_by: Type.Object({ kind: Type.String(), id: Type.String() }),
  },
  { $id: 'Invitation' },
);

export function presentMember(row: MemberRow) {
  return {
    object: 'member' as const,
    user_id: row.user_id,
    email: row.email,
    role: row.role,
    joined_at: apiTime(row.joined_at),
  };
}

export function presentInvitation(row: InvitationsTable, nowIso: string) {
  return {
    id: row.id,
    object: 'invitation' as const,
    email: row.email,
    role: row.role,
    created_at: apiTime(row.created_at),
    expires_at: apiTime(row.expires_at),
    status: row.expires_at <= nowIso ? ('expired' as const) : ('pending' as const),
    invited_by: { kind: row.invited_by_kind, id: row.invited_by_id },
  };
}
