/** Errors from the Airflow client. Each names the URL and the next step a user can take. */

export type AirflowErrorKind = 'unreachable' | 'unauthorized' | 'forbidden' | 'notFound' | 'badRequest' | 'badResponse' | 'server' | 'stuckQueued';

export class AirflowError extends Error {
  constructor(
    readonly kind: AirflowErrorKind,
    message: string,
    readonly url: string,
    readonly nextStep: string,
    readonly status?: number,
  ) {
    super(`${message} ${nextStep}`.trim());
    this.name = 'AirflowError';
  }
}

export function unreachable(baseUrl: string, cause: unknown, connection?: string): AirflowError {
  const why = cause instanceof Error ? describeCause(cause) : String(cause);
  return connection
    ? new AirflowError('unreachable', `Airflow of connection "${connection}" unreachable at ${baseUrl} (${why}).`, baseUrl, 'Check the connection\u2019s Airflow URL and that this machine can reach it, then retry.')
    : new AirflowError('unreachable', `Airflow unreachable at ${baseUrl} (${why}).`, baseUrl, 'Start the stack (DataPipeline: Start Stack) or set datapipeline.airflow.url, then retry.');
}

export function unauthorized(baseUrl: string, user: string, o: { bearer?: boolean; connection?: string } = {}): AirflowError {
  const where = o.connection ? `Airflow connection "${o.connection}" (${baseUrl})` : `Airflow at ${baseUrl}`;
  return new AirflowError(
    'unauthorized',
    o.bearer ? `${where} rejected the API token (401).` : `${where} rejected the credentials for user "${user}" (401).`,
    baseUrl,
    o.bearer
      ? 'Enter a valid token (DataPipeline: Edit Connection…, or Enter Password in the DAGs view).'
      : o.connection
        ? 'Check the connection\u2019s user and enter the password again.'
        : 'Check datapipeline.airflow.username and enter the password again.',
    401,
  );
}

/** No password is known for this server and user yet: nothing was sent; the user is asked first. */
export function passwordNeeded(baseUrl: string, user: string, connection?: string): AirflowError {
  return connection
    ? new AirflowError(
        'unauthorized',
        `No ${user === 'API token' ? 'API token' : `password for user "${user}"`} is stored for the Airflow of connection "${connection}" (${baseUrl}); nothing was sent to it.`,
        baseUrl,
        'Enter it (it is kept in VS Code SecretStorage for this connection only).',
      )
    : new AirflowError(
        'unauthorized',
        `No password is stored for user "${user}" at ${baseUrl}; nothing was sent to it.`,
        baseUrl,
        'Enter the password (it is kept in VS Code SecretStorage for this server only).',
      );
}

export function dagNotFound(baseUrl: string, dagId: string): AirflowError {
  return new AirflowError(
    'notFound',
    `DAG "${dagId}" does not exist on Airflow at ${baseUrl} (404).`,
    baseUrl,
    'Check the DAG id, that its file is in the DAGs folder, and the import errors in the DAGs view.',
    404,
  );
}

function describeCause(err: Error): string {
  const cause = (err as { cause?: unknown }).cause;
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'no answer in time';
  if (cause && typeof cause === 'object') {
    const code = (cause as { code?: string }).code;
    if (code === 'ECONNREFUSED') return 'connection refused';
    if (code) return code;
    const msg = (cause as { message?: string }).message;
    if (msg) return msg;
  }
  return err.message;
}
