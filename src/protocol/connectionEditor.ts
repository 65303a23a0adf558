/** Messages between the Add/Edit Connection form (media/connectionEditor) and its host. */
import { isConnectionForm, type ConnectionForm } from '../services/connections/form';
import { isObj } from './guards';
import type { RequestReply } from '../webviews/requests';

export type { ConnectionForm };

/** File fields the form may ask the host to browse for. */
export const FILE_FIELDS = ['caFile', 'certFile', 'keyFile'] as const;
export type FileField = (typeof FILE_FIELDS)[number];

export interface PartResult {
  part: 'Kafka' | 'Airflow' | 'Spark';
  ok: boolean;
  message: string;
}

export type ToConnectionEditor =
  /** the answer to a request by its id (src/webviews/requests.ts) */
  | RequestReply
  | {
      type: 'init';
      form: ConnectionForm;
      /** which secrets are stored already (their fields then say "stored: leave empty to keep") */
      stored: { kafka: boolean; kafkaKeyPassphrase: boolean; airflow: boolean };
      isNew: boolean;
    }
  | { type: 'error'; message: string }
  | { type: 'testing' }
  | { type: 'tested'; results: PartResult[] }
  | { type: 'file'; field: FileField; path: string };

export type FromConnectionEditor =
  | { type: 'ready' }
  | { type: 'save'; form: ConnectionForm }
  | { type: 'test'; form: ConnectionForm }
  | { type: 'browse'; field: FileField }
  | { type: 'cancel' };

export function isFromConnectionEditor(v: unknown): v is FromConnectionEditor {
  if (!isObj(v)) return false;
  switch (v.type) {
    case 'ready':
    case 'cancel':
      return true;
    case 'save':
    case 'test':
      return isConnectionForm(v.form);
    case 'browse':
      return (FILE_FIELDS as readonly unknown[]).includes(v.field);
    default:
      return false;
  }
}
