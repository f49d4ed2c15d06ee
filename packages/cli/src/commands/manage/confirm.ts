/**
 * Destructive commands (revoke, delete) ask first. On a terminal they prompt; without one (a script, CI)
 * they refuse unless `--yes` says the caller meant it: a pipe must never answer "yes" by accident.
 */
import { createInterface } from 'node:readline/promises';
import { CliError, UsageError } from '../../output/index.ts';

export async function confirm(question: string, options: { yes?: boolean }): Promise<void> {
  if (options.yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY)
    throw new UsageError(`${question} Refusing without a terminal to ask on: pass --yes`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('cancelled', 1);
  } finally {
    rl.close();
  }
}
