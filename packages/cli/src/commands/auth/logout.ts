/**
 * `cohera logout`: revokes the saved login's tokens (RFC 7009; the refresh token ends the grant, the
 * access token is refused at once) and deletes the entry. Offline it still deletes the entry, with a
 * warning: the tokens then stay valid until they expire (the access token within the hour), which is
 * better than keeping them on disk.
 */
import type { CliContext } from '../../context.ts';
import { deleteLogin, loadLogin } from '../../credentials-store.ts';
import { CoheraError } from '../../sdk.ts';
import { cliOAuth } from './session.ts';

export async function runLogout(ctx: CliContext): Promise<void> {
  const baseUrl = ctx.baseUrl;
  const login = await loadLogin(baseUrl, ctx.env);
  if (!login) {
    if (ctx.jsonMode)
      return ctx.output.json({ base_url: baseUrl, signed_in: false, revoked: false, deleted: false });
    ctx.output.line(`Not signed in to ${baseUrl}: nothing to do.`);
    return;
  }
  let revoked = true;
  const oauth = cliOAuth(baseUrl);
  try {
    await oauth.revoke(login.access_token, { tokenTypeHint: 'access_token' });
    if (login.refresh_token) await oauth.revoke(login.refresh_token, { tokenTypeHint: 'refresh_token' });
  } catch (error) {
    if (!(error instanceof CoheraError)) throw error;
    revoked = false;
    ctx.output.warn(
      `could not revoke the tokens (${error.message}); deleting them here anyway. They stay valid until ` +
        'they expire: revoke the CLI under "Authorized apps" in the dashboard if this machine is not yours.',
    );
  }
  await deleteLogin(baseUrl, ctx.env);
  if (ctx.jsonMode) return ctx.output.json({ base_url: baseUrl, signed_in: true, revoked, deleted: true });
  ctx.output.line(`Signed out of ${baseUrl}${revoked ? ': tokens revoked' : ''}, saved login deleted.`);
}
