/**
 * The organization's people (docs/team.md), `admin` scope: `client.members` and `client.invitations`.
 * Only an owner's credential may touch the owner role; the last owner can be neither demoted nor removed
 * (`ConflictError` with code `last_owner`).
 */
import type { PagePromise } from '../pagination.ts';
import type { RequestOptions } from '../transport.ts';
import type {
  Invitation,
  InvitationCreateParams,
  InvitationWithLink,
  ListParams,
  Member,
  MemberUpdateParams,
} from '../types.ts';
import { Resource, segment } from './resource.ts';

/**
 * `/v1/organization/members`.
 *
 * @example
 * for await (const member of client.members.list()) console.log(member.email, member.role);
 * await client.members.update('usr_…', { role: 'viewer' });
 */
export class Members extends Resource {
  /** Newest account first; awaitable for one page, or iterate every member with `for await`. */
  list(params?: ListParams, options?: RequestOptions): PagePromise<Member> {
    return this.paginate('/v1/organization/members', params, options);
  }

  /** A new role; the person's sessions, API keys and OAuth tokens follow it within a second. */
  async update(userId: string, params: MemberUpdateParams, options?: RequestOptions): Promise<Member> {
    return this.transport.request({
      method: 'PATCH',
      path: `/v1/organization/members/${segment(userId, 'userId')}`,
      body: params,
      options,
    });
  }

  /** Removes the person: their sessions, app authorizations and API keys in the organization end. */
  async remove(userId: string, options?: RequestOptions): Promise<void> {
    await this.transport.request({
      method: 'DELETE',
      path: `/v1/organization/members/${segment(userId, 'userId')}`,
      options,
    });
  }
}

/**
 * `/v1/organization/invitations`. The `accept_url` is in the answer of `create` only (it is also e-mailed
 * when the server has SMTP); it works once and expires in 7 days.
 *
 * @example
 * const invitation = await client.invitations.create({ email: 'dana@example.com', role: 'member' });
 * console.log(invitation.accept_url);
 */
export class Invitations extends Resource {
  /** Re-inviting an e-mail with a pending invitation replaces it; an existing member is `already_member`. */
  async create(params: InvitationCreateParams, options?: RequestOptions): Promise<InvitationWithLink> {
    return this.transport.request({
      method: 'POST',
      path: '/v1/organization/invitations',
      body: params,
      options,
    });
  }

  /** The pending invitations (expired ones too, with `status: 'expired'`), newest first. */
  list(params?: ListParams, options?: RequestOptions): PagePromise<Invitation> {
    return this.paginate('/v1/organization/invitations', params, options);
  }

  /** Its link stops working. */
  async revoke(id: string, options?: RequestOptions): Promise<void> {
    await this.transport.request({
      method: 'DELETE',
      path: `/v1/organization/invitations/${segment(id)}`,
      options,
    });
  }
}
