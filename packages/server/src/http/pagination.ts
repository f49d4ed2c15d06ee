/**
 * Cursor pagination for every collection (DESIGN §4): `?limit=1..100` (default 20), `?cursor=`, answer
 * `{data, next_cursor}`. Ids are time-sortable, so keyset pagination by id gives newest first and stays
 * stable while rows are added. The cursor is opaque to clients (base64url of the last id seen).
 */
import { Type } from 'typebox';
import { invalidField } from './errors.ts';

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

export const PaginationQuery = {
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_LIMIT,
      default: DEFAULT_LIMIT,
      description: 'Page size, 1 to 100',
    }),
  ),
  cursor: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'The `next_cursor` of the previous page' }),
  ),
};

export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

/** Decodes a cursor into the id to continue after; a cursor that is not one of ours is a 400. */
export function decodeCursor(cursor: string | undefined, idPrefix: string): string | null {
  if (cursor === undefined) return null;
  const id = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!new RegExp(`^${idPrefix}_[0-9A-Za-z]{22}$`).test(id)) {
    throw invalidField('query/cursor', 'is not a cursor returned by this list');
  }
  return id;
}

/** Builds the page from `limit + 1` fetched rows: the extra row only says whether there is more. */
export function pageOf<Row extends { id: string }, Out>(
  rows: readonly Row[],
  limit: number,
  present: (row: Row) => Out,
): { data: Out[]; next_cursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    data: page.map(present),
    next_cursor: rows.length > limit && last ? encodeCursor(last.id) : null,
  };
}

export function ListEnvelope<T extends ReturnType<typeof Type.Object>>(item: T) {
  return Type.Object({
    data: Type.Array(item),
    next_cursor: Type.Union([Type.String(), Type.Null()]),
  });
}
