/**
 * The one door from the CLI to the TypeScript SDK: every HTTP call of the CLI goes through it (no second
 * HTTP client). The relative import is deliberate: the SDK package's exports point at a `dist/` that CI
 * does not build, while its TypeScript sources run as they are.
 */
export * from '../../sdk/src/auth/index.ts';
export * from '../../sdk/src/index.ts';
