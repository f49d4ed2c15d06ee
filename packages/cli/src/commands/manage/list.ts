/**
 * Every list command answers the same way: one page (`--limit`, `--cursor`) or every page (`--all`), and
 * with `--json` the API's own list shape `{data, next_cursor}` (null after `--all`), so a script reads
 * every list command, and the HTTP API, alike.
 */
import type { Command, OptionValues } from '@commander-js/extra-typings';
import type { ListResponse, PagePromise } from '../../sdk.ts';
import { integer } from './parse.ts';

export interface PageOptions {
  all?: boolean;
  limit?: number;
  cursor?: string;
}

/** Adds `--all`, `--limit N` and `--cursor C` to a list command. */
export function pageOptions<Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(
  command: Command<Args, Opts, Globals>,
) {
  return command
    .option('--all', 'every page, not only the first')
    .option('--limit <n>', 'items per page (1–100, default 20)', integer(1, 100))
    .option('--cursor <cursor>', 'start at this page (the next_cursor of a previous --json answer)');
}

/** The list's request parameters from the page options (`--all` fetches full pages). */
export function pageParams(options: PageOptions): { limit?: number; cursor?: string } {
  const params: { limit?: number; cursor?: string } = {};
  if (options.limit !== undefined) params.limit = options.limit;
  else if (options.all) params.limit = 100;
  if (options.cursor !== undefined) params.cursor = options.cursor;
  return params;
}

/** One page, or with `all` every item from there on, as `{data, next_cursor}`. */
export async function fetchList<T>(list: PagePromise<T>, options: PageOptions): Promise<ListResponse<T>> {
  if (!options.all) {
    const page = await list;
    return { data: page.data, next_cursor: page.next_cursor };
  }
  const data: T[] = [];
  for await (const item of list) data.push(item);
  return { data, next_cursor: null };
}
