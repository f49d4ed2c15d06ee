/**
 * Request validation. Two Ajv instances: bodies are validated strictly (no type coercion, unknown fields
 * rejected rather than silently removed), while query strings and path params, which are text by nature,
 * are coerced to the declared types. Strings containing NUL are rejected everywhere: PostgreSQL cannot
 * store them, and no Cohera field has a use for one.
 */
import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance, FastifyRequest, preValidationHookHandler } from 'fastify';
import { invalidField } from './errors.ts';

// ajv-formats is CommonJS with a default export; under NodeNext its type is the module namespace.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({
    allErrors: false,
    useDefaults: true,
    removeAdditional: false,
    strict: false,
    ...options,
  });
  addFormats(ajv, ['date-time', 'date', 'email', 'uri']);
  return ajv;
}

const strict = makeAjv({ coerceTypes: false });
const coercing = makeAjv({ coerceTypes: 'array' });

function findNul(value: unknown, path: string): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNul(value[i], `${path}/${i}`);
      if (found) return found;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = key.includes('\u0000') ? `${path}/${key}` : findNul(item, `${path}/${key}`);
      if (found) return found;
    }
  }
  return null;
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
