/**
 * AES-256-GCM for the few secrets the server must read back (DESIGN §6.1): OAuth signing keys today. Each
 * use derives its own key from the master key with HKDF and binds the ciphertext to a context string, so a
 * value encrypted for one purpose cannot be swapped into another column and decrypt there.
 *
 * Format: `v1.<iv>.<ciphertext>.<tag>`, each part base64url; a new random 96-bit IV per encryption.
 */
import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';

const VERSION = 'v1';

export class SecretBox {
  /** A KeyObject, imported once: a Buffer key is imported again by every cipher (DESIGN §7's tip). */
  readonly #key: KeyObject;
  constructor(masterKey: Buffer, purpose: string) {
    this.#key = createSecretKey(
      Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `cohera/${purpose}/v1`, 32)),
    );
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv, body, cipher.getAuthTag()]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.');
  }

  /** Throws when the value was altered, sealed for another context, or under another master key. */
  open(sealed: string, context: string): string {
    const [version, iv, body, tag] = sealed.split('.');
    if (version !== VERSION || !iv || body === undefined || !tag) throw new Error('not a sealed value');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  }
}
