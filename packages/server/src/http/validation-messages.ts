/**
 * Schema errors in words. Ajv says `must match pattern "^[A-Za-z]{2}$"`; a person needs `country must be an
 * ISO 3166 alpha-2 code such as "DE"`. Every keyword Ajv can report becomes a sentence that names the field
 * and says what it must be, and never shows a regular expression or repeats the value that was sent (it may
 * be a secret pasted into the wrong field).
 *
 * Where a schema's rule cannot be put in words generically (a `pattern`), the schema says it: the convention
 * is an `x-message` beside the pattern, a predicate such as `must be an ISO 3166 alpha-2 code such as "DE"`
 * (it also reaches /openapi.json). Without one, the field's `description` is quoted; without that, a
 * generic sentence — never the pattern. Ajv hands us the schema of the failing field because it runs with
 * `verbose: true` (validation.ts).
 */
import type { FieldError } from '@cohera/shared';

/** What Ajv reports for one failure (with `verbose`: the schema the keyword belongs to). */
export interface ValidationIssue {
  instancePath?: string;
  schemaPath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
  parentSchema?: unknown;
}

/** The schema keyword that carries a field's rule in words. */
export const MESSAGE_KEYWORD = 'x-message';

type Schema = Record<string, unknown>;

/**
 * Fastify's names for the parts of a request, mapped to the prefixes our field paths use everywhere
 * (`query/cursor`, `path/id`, `header/cohera-mode`), so one field has one name whoever rejects it.
 */
const CONTEXT_PREFIX: Record<string, string> = { querystring: 'query', params: 'path', headers: 'header' };

const PART_NOUN: Record<string, string> = {
  query: 'query parameter',
  path: 'path parameter',
  header: 'header',
};

const FORMATS: Record<string, string> = {
  'date-time': 'must be an ISO 8601 date-time such as "2027-01-31T00:00:00Z"',
  date: 'must be a date such as "2027-01-31"',
  email: 'must be an e-mail address such as "name@example.com"',
  uri: 'must be an absolute URL such as "https://example.com/callback"',
};

const TYPE_NOUNS: Record<string, string> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  object: 'a JSON object',
  array: 'a list',
  null: 'null',
};

const asSchema = (value: unknown): Schema | null =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Schema) : null;

const quote = (value: unknown) => JSON.stringify(value) ?? String(value);

/** `a`, `a or b`, `a, b or c`. */
function either(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

const plural = (n: unknown, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** JSON-pointer segments (`address/0/city`) as people write them: `address[0].city`. */
function readablePath(segments: readonly string[]): string {
  let out = '';
  for (const raw of segments) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(segment)) out += `[${segment}]`;
    else out += out ? `.${segment}` : segment;
  }
  return out;
}

/** The name a sentence uses for a field: `country`, `query parameter limit`, or the body itself. */
function labelOf(prefix: string, segments: readonly string[]): string {
  const path = readablePath(segments);
  if (prefix === 'body') return path || 'the request body';
  const noun = PART_NOUN[prefix] ?? prefix;
  return path ? `${noun} ${path}` : `the ${noun === 'header' ? 'headers' : `${noun}s`}`;
}

/** What a schema accepts, as a noun phrase, for unions (`a string or null`, `"live" or "test"`). */
function acceptedBy(schema: Schema | null): string[] | null {
  if (!schema) return null;
  if ('const' in schema) return [quote(schema.const)];
  if (Array.isArray(schema.enum)) return schema.enum.map(quote);
  const branches = (schema.anyOf ?? schema.oneOf) as unknown;
  if (Array.isArray(branches)) {
    const all: string[] = [];
    for (const branch of branches) {
      const accepted = acceptedBy(asSchema(branch));
      if (!accepted) return null;
      all.push(...accepted);
    }
    return all;
  }
  if (typeof schema.format === 'string' && FORMATS[schema.format]) {
    return [(FORMATS[schema.format] as string).replace(/^must be /, '')];
  }
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  const nouns = types.map((t) => (typeof t === 'string' ? TYPE_NOUNS[t] : undefined));
  return nouns.every((n): n is string => n !== undefined) && nouns.length > 0 ? nouns : null;
}

/** The rule a pattern (or format) stands for, from the schema's own words; never the pattern itself. */
function ruleInWords(schema: Schema | null, fallback: string): string {
  const own = schema?.[MESSAGE_KEYWORD];
  if (typeof own === 'string') return own;
  if (typeof schema?.description === 'string') return `is not valid: expected ${schema.description}`;
  return fallback;
}

function knownFields(schema: Schema | null): string {
  const properties = asSchema(schema?.properties);
  const names = properties ? Object.keys(properties) : [];
  if (names.length === 0) return '';
  const shown = names.slice(0, 15).join(', ');
  return `; known fields: ${shown}${names.length > 15 ? ', …' : ''}`;
}

/** The predicate (`must be …`) for one issue; `null` for a keyword that names another field (below). */
function predicate(issue: ValidationIssue, schema: Schema | null): string {
  const p = issue.params ?? {};
  switch (issue.keyword) {
    case 'type': {
      const types = String(p.type ?? '').split(',');
      return `must be ${either(types.map((t) => TYPE_NOUNS[t] ?? t))}`;
    }
    case 'enum':
      return `must be one of ${either(((p.allowedValues as unknown[]) ?? []).map(quote))}`;
    case 'const':
      return `must be ${quote(p.allowedValue)}`;
    case 'anyOf':
    case 'oneOf': {
      const accepted = acceptedBy(schema);
      if (issue.keyword === 'oneOf' && p.passingSchemas != null) return 'matches more than one accepted form';
      return accepted ? `must be ${either([...new Set(accepted)])}` : 'is not in any of the accepted forms';
    }
    case 'minLength':
      return p.limit === 1
        ? 'must not be empty'
        : `must be at least ${plural(p.limit, 'character', 'characters')} long`;
    case 'maxLength':
      return `must be at most ${plural(p.limit, 'character', 'characters')} long`;
    case 'minimum':
      return `must be ${p.limit} or more`;
    case 'maximum':
      return `must be ${p.limit} or less`;
    case 'exclusiveMinimum':
      return `must be more than ${p.limit}`;
    case 'exclusiveMaximum':
      return `must be less than ${p.limit}`;
    case 'multipleOf':
      return `must be a multiple of ${p.multipleOf}`;
    case 'pattern':
      return ruleInWords(schema, 'is not in the expected format');
    case 'format': {
      const known = typeof p.format === 'string' ? FORMATS[p.format] : undefined;
      return ruleInWords(
        typeof schema?.[MESSAGE_KEYWORD] === 'string' ? schema : null,
        known ?? `must be a valid ${String(p.format)}`,
      );
    }
    case 'minItems':
      return p.limit === 1 ? 'must not be empty' : `must have at least ${plural(p.limit, 'item', 'items')}`;
    case 'maxItems':
      return `must have at most ${plural(p.limit, 'item', 'items')}`;
    case 'uniqueItems':
      return typeof p.i === 'number' && typeof p.j === 'number'
        ? `must not list the same value twice (items ${p.j} and ${p.i} are equal)`
        : 'must not list the same value twice';
    case 'minProperties':
      return `must have at least ${plural(p.limit, 'field', 'fields')}`;
    case 'maxProperties':
      return `must have at most ${plural(p.limit, 'field', 'fields')}`;
    case 'propertyNames':
      return 'has a field whose name is not allowed';
    case 'not':
      return 'is not allowed here';
    default:
      return 'is not valid';
  }
}

/**
 * Turns Ajv issues into `{field, message}`: the field as a path (`body/expires_at`, `query/limit`), the
 * message a sentence that names it. A union (`anyOf`) reports each failed branch and then itself; only the
 * union's own sentence is kept, since it lists every accepted form.
 */
export function fieldErrors(context: string | undefined, issues: readonly ValidationIssue[]): FieldError[] {
  const prefix = context === undefined ? 'body' : (CONTEXT_PREFIX[context] ?? context);
  const unions = issues
    .filter((i) => (i.keyword === 'anyOf' || i.keyword === 'oneOf') && i.schemaPath)
    .map((i) => `${i.schemaPath}/`);
  const errors: FieldError[] = [];
  for (const issue of issues) {
    if (unions.some((u) => issue.schemaPath?.startsWith(u))) continue;
    const segments = (issue.instancePath ?? '').split('/').filter(Boolean);
    const schema = asSchema(issue.parentSchema);
    let message: string;
    if (issue.keyword === 'required' && typeof issue.params?.missingProperty === 'string') {
      segments.push(issue.params.missingProperty);
      message = `${labelOf(prefix, segments)} is required`;
    } else if (
      issue.keyword === 'additionalProperties' &&
      typeof issue.params?.additionalProperty === 'string'
    ) {
      segments.push(issue.params.additionalProperty);
      message = `${labelOf(prefix, segments)} is not a known field${knownFields(schema)}`;
    } else if (issue.keyword === 'dependentRequired' || issue.keyword === 'dependencies') {
      const { property, missingProperty } = issue.params ?? {};
      message = `${labelOf(prefix, [...segments, String(missingProperty)])} is required when ${String(property)} is given`;
      segments.push(String(missingProperty));
    } else {
      message = `${labelOf(prefix, segments)} ${predicate(issue, schema)}`;
    }
    const field = [prefix, ...segments].join('/');
    if (!errors.some((e) => e.field === field && e.message === message)) errors.push({ field, message });
  }
  return errors;
}

/**
 * A hand-written check's message (`invalidField('body/expires_at', 'must be in the future')`) as the same
 * kind of sentence: `expires_at must be in the future`. A message that already names the field is kept.
 */
export function sentenceFor(field: string, message: string): string {
  const [prefix = 'body', ...segments] = field.split('/');
  const label = labelOf(prefix, segments);
  const name = segments.at(-1);
  if (message.startsWith(label) || (name !== undefined && message.startsWith(name))) return message;
  return `${label} ${message}`;
}

/** The problem's `detail`: every sentence, in order. */
export function describeFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => e.message).join('; ');
}
