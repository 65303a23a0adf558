// The Add/Edit Connection form: plain labelled inputs (keyboard order top to bottom), parts shown or
// hidden by their checkboxes and the security protocol; secrets go to the host only when typed.
// Everything shown is text (no innerHTML).
import type { ConnectionForm, FileField, FromConnectionEditor, ToConnectionEditor } from '../../src/protocol/connectionEditor';
import { el } from '../shared/dom';
import { clearFailure, Requests, showFailure } from '../shared/requests';

declare function acquireVsCodeApi(): { postMessage(m: FromConnectionEditor): void };
const vscode = acquireVsCodeApi();
// every request is answered by its id; a failed one is shown the same way in every panel
const ACTIONS: Partial<Record<FromConnectionEditor['type'], string>> = { save: 'Save', test: 'Test Connection', browse: 'Choose a file' };
const requests = new Requests<FromConnectionEditor>((m) => vscode.postMessage(m), (error, m) => showFailure(error, ACTIONS[m.type] ?? m.type), (m) => ACTIONS[m.type] && clearFailure());
const send = (m: FromConnectionEditor) => void requests.send(m);

type StringField = { [K in keyof ConnectionForm]: ConnectionForm[K] extends string ? K : never }[keyof ConnectionForm];
type FlagField = { [K in keyof ConnectionForm]: ConnectionForm[K] extends boolean ? K : never }[keyof ConnectionForm];

const inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
let form: ConnectionForm | undefined;

function field(key: StringField, label: string, o: { placeholder?: string; type?: string; options?: string[][]; hint?: string; browse?: FileField } = {}): HTMLElement {
  const id = `f-${key}`;
  let input: HTMLInputElement | HTMLSelectElement;
  if (o.options) {
    input = el('select', { id });
    for (const [value, text] of o.options) input.append(el('option', { text, attrs: { value } }));
  } else {
    input = el('input', { id, attrs: { type: o.type ?? 'text', placeholder: o.placeholder ?? '', autocomplete: 'off', spellcheck: 'false' } });
  }
  input.addEventListener('change', sync);
  inputs.set(key, input);
  const row = el('div', { cls: 'row' }, el('label', { text: label, attrs: { for: id } }), input);
  if (o.browse) {
    const b = el('button', { text: 'Browse…', cls: 'secondary', attrs: { type: 'button' } });
    b.addEventListener('click', () => send({ type: 'browse', field: o.browse! }));
    row.append(b);
  }
  if (o.hint) row.append(el('span', { cls: 'hint', id: `${id}-hint`, text: o.hint }));
  return row;
}

function flag(key: FlagField, label: string): HTMLElement {
  const id = `f-${key}`;
  const input = el('input', { id, attrs: { type: 'checkbox' } });
  input.addEventListener('change', sync);
  inputs.set(key, input);
  return el('div', { cls: 'row check' }, input, el('label', { text: label, attrs: { for: id } }));
}

const sections = {
  kafka: el('fieldset', {}, el('legend', { text: 'Kafka' })),
  sasl: el('div', {}),
  oauth: el('div', {}),
  userPass: el('div', {}),
  tls: el('div', {}),
  airflow: el('fieldset', {}, el('legend', { text: 'Airflow' })),
  airflowUser: el('div', {}),
  spark: el('fieldset', {}, el('legend', { text: 'Spark' })),
};

sections.userPass.append(field('saslUsername', 'SASL user'));
sections.oauth.append(
  field('oauthTokenEndpoint', 'Token endpoint', { placeholder: 'https://idp.example.com/oauth2/token' }),
  field('oauthClientId', 'Client id'),
  field('oauthScope', 'Scope (optional)'),
);
sections.sasl.append(
  field('saslMechanism', 'SASL mechanism', { options: [['PLAIN', 'PLAIN'], ['SCRAM-SHA-256', 'SCRAM-SHA-256'], ['SCRAM-SHA-512', 'SCRAM-SHA-512'], ['OAUTHBEARER', 'OAUTHBEARER (client credentials)']] }),
  sections.userPass,
  sections.oauth,
  field('kafkaSecret', 'SASL password', { type: 'password' }),
);
sections.tls.append(
  field('caFile', 'CA file (PEM)', { placeholder: 'empty: the system\u2019s CAs', browse: 'caFile' }),
  field('certFile', 'Client certificate (PEM, for mTLS)', { browse: 'certFile' }),
  field('keyFile', 'Client key (PEM)', { browse: 'keyFile' }),
  field('kafkaKeyPassphrase', 'Key passphrase (if encrypted)', { type: 'password' }),
  flag('checkHostname', 'Check that the certificate names the host (recommended)'),
);
sections.kafka.append(
  flag('kafkaEnabled', 'This connection has Kafka'),
  field('bootstrapServers', 'Bootstrap servers', { placeholder: 'broker-1:9093,broker-2:9093' }),
  field('security', 'Security protocol', { options: [['PLAINTEXT', 'PLAINTEXT'], ['SSL', 'SSL (TLS, optional mTLS)'], ['SASL_PLAINTEXT', 'SASL_PLAINTEXT'], ['SASL_SSL', 'SASL_SSL']] }),
  sections.sasl,
  sections.tls,
);
sections.airflowUser.append(field('airflowUsername', 'User'));
sections.airflow.append(
  flag('airflowEnabled', 'This connection has Airflow'),
  field('airflowUrl', 'URL', { placeholder: 'https://airflow.example.com' }),
  field('airflowAuth', 'Sign in with', { options: [['password', 'User and password (Basic on Airflow 2, token login on Airflow 3)'], ['bearer', 'An API token (Bearer)']] }),
  sections.airflowUser,
  field('airflowSecret', 'Password', { type: 'password' }),
);
sections.spark.append(
  flag('sparkEnabled', 'This connection has Spark (standalone cluster)'),
  field('sparkMasterUrl', 'Master URL', { placeholder: 'spark://spark-master.example.com:7077' }),
  field('sparkUiUrl', 'Master UI URL', { placeholder: 'http://spark-master.example.com:8080' }),
  field('sparkSubmitArgs', 'Extra spark-submit arguments', { placeholder: '--conf spark.executor.memory=2g' }),
);

const heading = el('h1', { text: 'Connection' });
const errorBox = el('div', { id: 'error', cls: 'error', attrs: { role: 'alert' } });
errorBox.hidden = true;
const results = el('ul', { id: 'results', cls: 'results', attrs: { 'aria-live': 'polite' } });
const save = el('button', { id: 'save', text: 'Save', cls: 'primary', attrs: { type: 'button' } });
const test = el('button', { id: 'test', text: 'Test Connection', cls: 'secondary', attrs: { type: 'button' } });
const cancel = el('button', { id: 'cancel', text: 'Cancel', cls: 'secondary', attrs: { type: 'button' } });
save.addEventListener('click', () => form && send({ type: 'save', form: read() }));
test.addEventListener('click', () => form && send({ type: 'test', form: read() }));
cancel.addEventListener('click', () => send({ type: 'cancel' }));

const general = el(
  'fieldset',
  {},
  el('legend', { text: 'Connection' }),
  field('name', 'Name', { placeholder: 'Team staging' }),
  field('readOnly', 'Changes', {
    options: [
      ['auto', 'Default: read-only unless every address is on this machine'],
      ['yes', 'Read-only: refuse create/delete topic, produce, trigger, clear, kill'],
      ['no', 'Writable (asks once per session when not on this machine)'],
    ],
  }),
);
document.getElementById('root')!.replaceChildren(heading, errorBox, general, sections.kafka, sections.airflow, sections.spark, el('div', { cls: 'actions' }, save, test, cancel), results);

function read(): ConnectionForm {
  const out = { ...form! } as Record<string, unknown>;
  for (const [k, input] of inputs) out[k] = input instanceof HTMLInputElement && input.type === 'checkbox' ? input.checked : input.value;
  return out as unknown as ConnectionForm;
}

/** Shows the fields the current choices use. */
function sync(): void {
  const f = read();
  const show = (e: HTMLElement, on: boolean) => (e.hidden = !on);
  for (const child of Array.from(sections.kafka.children).slice(2)) show(child as HTMLElement, f.kafkaEnabled);
  if (f.kafkaEnabled) {
    const sasl = f.security.startsWith('SASL_');
    show(sections.sasl, sasl);
    show(sections.userPass, sasl && f.saslMechanism !== 'OAUTHBEARER');
    show(sections.oauth, sasl && f.saslMechanism === 'OAUTHBEARER');
    show(sections.tls, f.security === 'SSL' || f.security === 'SASL_SSL');
  }
  for (const child of Array.from(sections.airflow.children).slice(2)) show(child as HTMLElement, f.airflowEnabled);
  if (f.airflowEnabled) show(sections.airflowUser, f.airflowAuth !== 'bearer');
  const label = (key: string, text: string) => {
    const l = document.querySelector(`label[for="f-${key}"]`);
    if (l) l.textContent = text;
  };
  label('airflowSecret', f.airflowAuth === 'bearer' ? 'API token' : 'Password');
  label('kafkaSecret', f.saslMechanism === 'OAUTHBEARER' ? 'Client secret' : 'SASL password');
  for (const child of Array.from(sections.spark.children).slice(2)) show(child as HTMLElement, f.sparkEnabled);
}

function fill(f: ConnectionForm, stored: { kafka: boolean; kafkaKeyPassphrase: boolean; airflow: boolean }): void {
  form = f;
  for (const [k, input] of inputs) {
    const v = (f as unknown as Record<string, unknown>)[k];
    if (input instanceof HTMLInputElement && input.type === 'checkbox') input.checked = v === true;
    else input.value = String(v ?? '');
  }
  for (const [k, on] of Object.entries(stored)) {
    const key = k === 'kafka' ? 'kafkaSecret' : k === 'airflow' ? 'airflowSecret' : 'kafkaKeyPassphrase';
    const input = inputs.get(key) as HTMLInputElement | undefined;
    if (input) input.placeholder = on ? 'stored: leave empty to keep' : '';
  }
  sync();
}

window.addEventListener('message', (ev: MessageEvent<ToConnectionEditor>) => {
  if (requests.reply(ev.data)) return;
  const m = ev.data;
  switch (m.type) {
    case 'init':
      heading.textContent = m.isNew ? 'Add Connection' : `Edit Connection: ${m.form.name}`;
      document.title = heading.textContent;
      fill(m.form, m.stored);
      (inputs.get('name') as HTMLInputElement).focus();
      return;
    case 'error':
      errorBox.textContent = m.message;
      errorBox.hidden = false;
      return;
    case 'testing':
      errorBox.hidden = true;
      results.replaceChildren(el('li', { text: 'Testing…' }));
      return;
    case 'tested':
      results.replaceChildren(...m.results.map((r) => el('li', { cls: r.ok ? 'ok' : 'fail', text: `${r.ok ? '✓' : '✗'} ${r.part}: ${r.message}` })));
      return;
    case 'file': {
      const input = inputs.get(m.field);
      if (input) input.value = m.path;
      return;
    }
  }
});

send({ type: 'ready' });
