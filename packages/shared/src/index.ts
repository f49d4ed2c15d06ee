export * from './api-key-format.ts';
export * from './base62.ts';
export * from './countries.ts';
export * from './crc32.ts';
export * from './errors.ts';
export * from './ids.ts';
export * from './redirect-uris.ts';
export * from './scopes.ts';
