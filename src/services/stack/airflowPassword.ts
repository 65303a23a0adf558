/**
 * The local stack's Airflow admin password: `admin` unless the user set another (DataPipeline: Set
 * Local Airflow Password…, or `npm run stack -- set-password`), kept with the stack's other secrets
 * in the state folder both backends, the extension and the CLI share (0600 in a 0700 folder; the
 * stack's services need it, so it cannot live in VS Code's SecretStorage only). Both backends apply
 * it at the next start of Airflow: Airflow 2's admin user gets it, Airflow 3's simple auth manager
 * reads it. No `vscode` import.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensurePrivateDir, writePrivateFile } from '../util/privateFiles';

export const STACK_ADMIN_USER = 'admin';
export const DEFAULT_STACK_ADMIN_PASSWORD = 'admin';
const FILE = 'airflow-admin-password';

/** The password the stack's Airflow admin has (or gets at its next start). */
export function stackAirflowPassword(stateDir: string): string {
  try {
    const text = fs.readFileSync(path.join(stateDir, FILE), 'utf8').replace(/\r?\n$/, '');
    if (text) return text;
  } catch {
    // never set: the documented default
  }
  return DEFAULT_STACK_ADMIN_PASSWORD;
}

/** Why a password cannot be the stack's; undefined when it can. */
export function stackPasswordError(password: string): string | undefined {
  if (!password) return 'The password is empty.';
  if (/[\r\n\0]/.test(password)) return 'The password has a line break or a NUL character.';
  if (password.length > 256) return 'The password is longer than 256 characters.';
  return undefined;
}

export function setStackAirflowPassword(stateDir: string, password: string): void {
  const why = stackPasswordError(password);
  if (why) throw new Error(`${why} Nothing was changed.`);
  ensurePrivateDir(stateDir);
  writePrivateFile(path.join(stateDir, FILE), `${password}\n`);
}

/** A digest of the password for a stamp that says which password Airflow was given (never the password itself). */
export function passwordDigest(password: string): string {
  return crypto.createHash('sha256').update(`datapipeline-airflow-admin\0${password}`).digest('hex').slice(0, 16);
}
