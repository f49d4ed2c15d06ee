/**
 * Naming a found key in a fix. A key found in a file is only text; with a credential, the org's key list
 * (prefix and last4, as lists show keys) tells which key id it is, so the fix can say
 * `cohera keys roll key_… --grace-period 0` with the real id. Without one the fix says KEY_ID and how to
 * find it.
 */
import { redact } from '../scan/finding.ts';

export interface KnownKey {
  id: string;
  prefix: string;
  last4: string;
  status: string;
}

export class KeyIndex {
  readonly #byShape = new Map<string, KnownKey>();
  /** Whether the org's keys were listed: without it no found key can be named. */
  readonly listed: boolean;

  constructor(keys: KnownKey[] | null) {
    this.listed = keys !== null;
    for (const key of keys ?? []) this.#byShape.set(`${key.prefix}…${key.last4}`, key);
  }

  /** The org's key a found key is, matched by its prefix and last 4 (what `redact` keeps). */
  find(key: string): KnownKey | null {
    return this.#byShape.get(redact(key)) ?? null;
  }

  /** A found key that belongs to the org and no longer works: nothing to roll. */
  inactive(key: string): boolean {
    const known = this.find(key);
    return known !== null && known.status !== 'active';
  }

  /** The command that replaces a key at once (the old one stops now). */
  rollCommand(keys: string[]): string {
    const ids = [...new Set(keys.map((key) => this.find(key)?.id ?? 'KEY_ID'))];
    const commands = ids.map((id) => `\`cohera keys roll ${id} --grace-period 0\``).join(', ');
    return ids.includes('KEY_ID')
      ? `${commands} (KEY_ID: the id \`cohera keys list\` shows for ${[...new Set(keys.map(redact))].join(', ')})`
      : commands;
  }
}
