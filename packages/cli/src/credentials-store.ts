/**
 * The saved logins of `cohera login`: `$XDG_CONFIG_HOME/cohera/credentials.json` (default `~/.config`),
 * one entry per base URL so that several servers can be used side by side. The directory is 0700 and the
 * file 0600 (they hold refresh tokens), and every write goes to a temporary file that is renamed over the
 * old one, so a crash or a second `cohera` never leaves a half-written file.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface SavedLogin {
  access_token: string;
  refresh_token: string | null;
  /** ISO 8601; `null` when the server did not say. */
  expires_at: string | null;
  scopes: string[];
  /** The base URL the tokens were issued for (also the entry's key). */
  base_url: string;
  client_id: string;
  saved_at: string;
}

interface CredentialsFile {
  version: 1;
  logins: Record<string, SavedLogin>;
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME?.trim() || join(homedir(), '.config');
  return join(base, 'cohera');
}

export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'credentials.json');
}

/** `http://Host:8080/` and `http://host:8080` are the same server. */
export function normalizeBaseUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

async function readAll(env: NodeJS.ProcessEnv): Promise<CredentialsFile> {
  let text: string;
  try {
    text = await readFile(credentialsPath(env), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, logins: {} };
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<CredentialsFile>;
  return { version: 1, logins: parsed.logins ?? {} };
}

async function writeAll(file: CredentialsFile, env: NodeJS.ProcessEnv): Promise<void> {
  const dir = configDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const target = credentialsPath(env);
  const temporary = join(dir, `.credentials.${randomBytes(6).toString('hex')}.tmp`);
  // 0600 from creation (`wx`: never through an existing file or link), then renamed into place.
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(file, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}

export async function loadLogin(
  baseUrl: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SavedLogin | null> {
  return (await readAll(env)).logins[normalizeBaseUrl(baseUrl)] ?? null;
}

export async function saveLogin(login: SavedLogin, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const file = await readAll(env);
  const key = normalizeBaseUrl(login.base_url);
  file.logins[key] = { ...login, base_url: key };
  await writeAll(file, env);
}

/** True when there was an entry to delete. */
export async function deleteLogin(baseUrl: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const file = await readAll(env);
  const key = normalizeBaseUrl(baseUrl);
  if (!(key in file.logins)) return false;
  delete file.logins[key];
  await writeAll(file, env);
  return true;
}
