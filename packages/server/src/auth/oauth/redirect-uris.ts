/**
 * Redirect-URI validation of registered clients, by the shared rules (@cohera/shared redirect-uris.ts). At
 * authorization time the engine compares the presented URI to the registered ones by exact string match, so
 * what is stored is exactly what the developer typed.
 */
import { redirectUriProblem } from '@cohera/shared';
import { invalidField } from '../../http/errors.ts';

export { isLoopbackHost, MAX_REDIRECT_URIS, redirectUriProblem } from '@cohera/shared';

/** Validates a client's redirect URIs, naming the first one that is wrong. */
export function requireValidRedirectUris(uris: readonly string[]): string[] {
  uris.forEach((uri, index) => {
    const problem = redirectUriProblem(uri);
    if (problem) throw invalidField(`body/redirect_uris/${index}`, problem);
  });
  return [...new Set(uris)];
}
