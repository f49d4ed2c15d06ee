/**
 * Request validation. Two Ajv instances: bodies are validated strictly (no type coercion, unknown fields
 * rejected rather than silently removed), while query strings and path params, which are text by nature,
 * are coerced to the declared types. Strings containing NUL are rejected everywhere: PostgreSQL cannot
 * store them, and no Cohera field has a use for one. The walk that finds them is iterative, so input of
 * any depth is a 400, never a stack overflow.
 */
import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance, FastifyRequest, preValidationHookHandler } from 'fastify';
import { invalidField } from './errors.ts';
import { isDate, isDateTime } from './timestamps.ts';

// ajv-formats is CommonJS with a default export; under NodeNext its type is the module namespace.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({
    allErrors: false,
    useDefaults: true,
    removeAdditional: false,
    strict: false,
    // Each error carries the failing field's schema, so its message can be put in words from the schema's
    // own `x-message` or description (validation-messages.ts) instead of showing a pattern.
    verbose: true,
    ...options,
  });
  addFormats(ajv, ['email', 'uri']);
  // Our reading of dates and date-times rather than ajv-formats': one calendar for schemas and handlers.
  ajv.addFormat('date-time', isDateTime);
  ajv.addFormat('date', isDate);
  return ajv;
}

const strict = makeAjv({ coerceTypes: false });
const coercing = makeAjv({ coerceTypes: 'array' });

/**
 * Whether any string or key in `root` holds a NUL. Iterative, with its own stack: no input, however deep
 * (a form parser or a future content type might not bound nesting as the JSON parser does), can make it
 * overflow the call stack and turn bad input into a 500. No path strings are built on this common path.
 */
function holdsNul(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return true;
    } else if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
    } else if (value !== null && typeof value === 'object') {
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        if (key.includes('\u0000')) return true;
        stack.push((value as Record<string, unknown>)[key]);
      }
    }
  }
  return false;
}

interface Visit {
  value: unknown;
  key: string;
  parent: Visit | null;
}

/** At most this many segments of a path are named in an error; deeper ones are elided. */
const MAX_PATH_SEGMENTS = 16;

function pathOf(visit: Visit, rootPath: string): string {
  const segments: string[] = [];
  for (let at: Visit | null = visit; at?.parent; at = at.parent) segments.push(at.key);
  segments.reverse();
  if (segments.length > MAX_PATH_SEGMENTS) segments.splice(MAX_PATH_SEGMENTS, Infinity, '…');
  return [rootPath, ...segments].join('/');
}

/**
 * The path of the first NUL-holding string or key in document order, for the error message; walked only
 * once `holdsNul` found one. Entries link to their parent instead of carrying their path, so a deep input
 * costs memory in proportion to its size, not to the square of its depth.
 */
function nulPath(root: unknown, rootPath: string): string {
  const stack: Visit[] = [{ value: root, key: '', parent: null }];
  while (stack.length > 0) {
    const visit = stack.pop() as Visit;
    const { value } = visit;
    if (visit.key.includes('\u0000') || (typeof value === 'string' && value.includes('\u0000'))) {
      return pathOf(visit, rootPath);
    }
    if (value !== null && typeof value === 'object') {
      const entries: [string, unknown][] = Array.isArray(value)
        ? value.map((item, i) => [String(i), item])
        : Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, item] = entries[i] as [string, unknown];
        stack.push({ value: item, key, parent: visit });
      }
    }
  }
  return rootPath;
}

function findNul(value: unknown, path: string): string | null {
  return holdsNul(value) ? nulPath(value, path) : null;
}

export function registerValidation(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strict : coercing;
    return ajv.compile(schema);
  });
  // Only routes that take a body or a query string can carry a NUL; path ids are checked for shape before
  // any lookup. Attaching the check per route keeps a hook dispatch off every other request.
  const rejectNul: preValidationHookHandler = (request: FastifyRequest, _reply, done) => {
    const bad = findNul(request.body, 'body') ?? findNul(request.query, 'query');
    done(bad ? invalidField(bad, 'must not contain NUL characters') : undefined);
  };
  app.addHook('onRoute', (route) => {
    if (!route.schema?.body && !route.schema?.querystring) return;
    const own = route.preValidation;
    route.preValidation =
      own === undefined ? [rejectNul] : [rejectNul, ...(Array.isArray(own) ? own : [own])];
  });
}
