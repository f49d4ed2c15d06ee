/**
 * Passwords: argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane). These are the raw,
 * unbounded primitives: the server's request paths hash and verify through PasswordHasher
 * (password-hasher.ts), which bounds how many run at once. `hashPassword` alone is also used where one
 * hash runs per process (the operator's `cohera admin bootstrap`) and by test fixtures.
 */
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

// 2 is Algorithm.Argon2id; the package exports it as a const enum, which verbatimModuleSyntax cannot import.
const OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** Checks `password` against a stored PHC string; a malformed stored hash is a mismatch, not an error. */
export async function passwordMatches(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/** A generated password for bootstrap: 24 base64url characters (144 bits). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
