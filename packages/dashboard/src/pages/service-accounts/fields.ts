/**
 * What the service-account key dialogs share: the optional lifetime in days, and the server's 400s
 * (`validation_failed`, naming `body/public_key`…) shown next to the field they name.
 */
import { ApiProblem } from '../../api/client.ts';

/** The server's bounds for `expires_in_days` (packages/server/src/auth/service-accounts/routes.ts). */
export const MAX_KEY_DAYS = 3650;

/**
 * The lifetime the key dialogs propose: 90 days, as for API keys (DESIGN §5.1). Emptying the field still
 * makes a key that never expires, a choice the security report then flags.
 */
export const DEFAULT_KEY_DAYS = '90';

/** `{}` for no expiry, `{expires_in_days}`, or why the text is not a lifetime. */
export function expiryDaysParams(text: string): { params: { expires_in_days?: number } } | { error: string } {
  const value = text.trim();
  if (value === '') return { params: {} };
  if (!/^\d+$/.test(value)) return { error: 'Enter a whole number of days, or leave it empty.' };
  const days = Number(value);
  if (days < 1 || days > MAX_KEY_DAYS) return { error: `Enter between 1 and ${MAX_KEY_DAYS} days.` };
  return { params: { expires_in_days: days } };
}

/** The server's message about one request field (`body/public_key`), if it named that field. */
export function serverFieldError(error: Error | null, field: string): string | null {
  if (!(error instanceof ApiProblem)) return null;
  return error.fields.find((f) => f.field === field)?.message ?? null;
}

/** Whether the error says more than the messages shown next to `fields` (then it gets an ErrorNotice). */
export function saysMoreThan(error: Error | null, fields: readonly string[]): boolean {
  if (!error) return false;
  if (!(error instanceof ApiProblem) || error.fields.length === 0) return true;
  return error.fields.some((f) => !fields.includes(f.field));
}
