/** `cohera/auth`: the OAuth 2.0 app flow and service-account tokens. */
export { OAuthError } from '../errors.ts';
export {
  type AuthorizationRequest,
  type AuthorizationUrlOptions,
  OAuth2,
  type OAuth2Options,
} from './oauth2.ts';
export { type GenerateTokenOptions, MAX_TOKEN_LIFETIME_SECONDS, ServiceAccount } from './service-account.ts';
export { type StoredTokens, type TokenResponse, Tokens } from './tokens.ts';
