/**
 * The native stack's secrets (Kafka cluster id, Airflow's Fernet and secret keys, the PostgreSQL
 * password) in <state>/secrets.json, mode 0600: made on the first start. A file that exists but
 * cannot be read is never replaced: new ones would not open the data made with the old ones.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StackError } from '../types';
import { kafkaClusterId } from './config';
import { ensurePrivateDir, writePrivateFile } from '../../util/privateFiles';

export interface Secrets {
  kafkaClusterId: string;
  fernetKey: string;
  secretKey: string;
  /** of the stack's own PostgreSQL (user airflow) */
  postgresPassword: string;
}

export function stackSecrets(stateDir: string): Secrets {
  ensurePrivateDir(stateDir);
  const file = path.join(stateDir, 'secrets.json');
  let text: string | undefined;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw badSecrets(file, (e as Error).message);
  }
  const password = () => crypto.randomBytes(18).toString('base64url');
  if (text === undefined) {
    const s: Secrets = {
      kafkaClusterId: kafkaClusterId(crypto.randomBytes(16)),
      fernetKey: crypto.randomBytes(32).toString('base64url') + '=',
      secretKey: crypto.randomBytes(24).toString('hex'),
      postgresPassword: password(),
    };
    writePrivateFile(file, JSON.stringify(s, null, 2));
    return s;
  }
  let s: Partial<Secrets>;
  try {
    s = JSON.parse(text) as Partial<Secrets>;
  } catch (e) {
    throw badSecrets(file, `not JSON (${(e as Error).message})`);
  }
  if (!s || typeof s.kafkaClusterId !== 'string' || typeof s.fernetKey !== 'string' || typeof s.secretKey !== 'string') {
    throw badSecrets(file, 'kafkaClusterId, fernetKey or secretKey is missing');
  }
  if (!s.postgresPassword) {
    // a state folder from before the stack had its own PostgreSQL
    s.postgresPassword = password();
    writePrivateFile(file, JSON.stringify(s, null, 2));
  } else if ((fs.statSync(file).mode & 0o777) !== 0o600) {
    fs.chmodSync(file, 0o600);
  }
  return s as Secrets;
}

function badSecrets(file: string, why: string): StackError {
  return new StackError(
    `${file} cannot be used (${why}). It holds the Kafka cluster id and the Airflow keys the stack's data was made with, so it is not replaced.`,
    { nextStep: `Restore the file (e.g. from a backup), or start over: npm run stack -- reset, then delete ${file}, then start again.` },
  );
}
