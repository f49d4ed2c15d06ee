/**
 * Printing a new credential. On a terminal: what was created (a table) and the labelled secret, with a
 * warning on stderr that it will not be shown again. In a pipe: the secret alone on stdout, so that
 * `cohera keys create … > key.txt` captures exactly it, and one line naming what was created on stderr.
 * With `--json` the command prints its one JSON document (the secret inside) instead.
 */
import type { CliContext } from '../../context.ts';

export function showOnce(
  ctx: CliContext,
  created: { describe(): void; summary: string },
  secret: { label: string; value: string; warning: string },
): void {
  if (ctx.output.isTTY) created.describe();
  else ctx.output.info(created.summary);
  ctx.output.secret(secret.label, secret.value, secret.warning);
}
