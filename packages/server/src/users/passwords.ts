/**
 * Passwords: argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane). Verification of an
 * unknown email runs against a fixed dummy hash so that "no such user" and "wrong password" take the same
 * time and give the same answer.
 */
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

// 2 is Algorithm.Argon2id; the package exports it as a const enum, which verbatimModuleSyntax cannot import.
const OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

let dummyHash: Promise<string> | null = null;

/** Verifies `password` against `stored`, or against a dummy hash when there is no user (same cost). */
export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  if (stored === null) {
    dummyHash ??= hashPassword(randomBytes(16).toString('base64url'));
    await verify(await dummyHash, password);
    return false;
  }
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
