import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AirflowSettingsError, parseAirflowSettings } from '../../src/services/project/airflowSettings';

const ASTRO = path.join(__dirname, '..', 'fixtures', 'projects', 'astro-project', 'airflow_settings.yaml');

describe('a project\u2019s airflow_settings.yaml (Astro CLI\u2019s format)', () => {
  it('reads its connections (extra as JSON text), pools and variables', () => {
    const s = parseAirflowSettings(fs.readFileSync(ASTRO, 'utf8'), ASTRO);
    assert.deepEqual(s.connections, [{ id: 'weather_api', type: 'http', host: 'api.weather.example', schema: 'https', login: 'reports', password: 's3cret-token', port: 443, extra: '{"timeout":30}' }]);
    assert.deepEqual(s.pools, [{ name: 'weather_pool', slots: 2, description: 'At most two calls to the weather API at once' }]);
    assert.deepEqual(s.variables, [{ key: 'report_cities', value: 'Oslo,Lima,Pune' }, { key: 'report_units', value: 'metric' }]);
  });

  it('an empty file, or Astro\u2019s template with empty lists, applies nothing', () => {
    assert.deepEqual(parseAirflowSettings(''), { connections: [], pools: [], variables: [] });
    assert.deepEqual(parseAirflowSettings('airflow:\n  connections:\n  pools:\n  variables:\n'), { connections: [], pools: [], variables: [] });
  });

  it('a mistake is refused naming the file, the entry and what to write', () => {
    const bad = (yaml: string) => assert.throws(() => parseAirflowSettings(yaml, 'proj/airflow_settings.yaml'), AirflowSettingsError);
    bad('airflow: [1, 2]');
    bad('airflow:\n  connections: {conn_id: x}\n');
    assert.throws(() => parseAirflowSettings('airflow:\n  connections:\n    - conn_id: pg\n', 'proj/airflow_settings.yaml'), /^AirflowSettingsError: proj\/airflow_settings.yaml: airflow.connections\[0\] \(pg\) has no conn_type/);
    assert.throws(() => parseAirflowSettings('airflow:\n  connections:\n    - {conn_id: pg, conn_type: postgres, conn_port: high}\n'), /conn_port "high" is not a port/);
    assert.throws(() => parseAirflowSettings('airflow:\n  connections:\n    - {conn_id: pg, conn_type: postgres, conn_extra: "{not json"}\n'), /conn_extra must be a mapping or JSON text/);
    assert.throws(() => parseAirflowSettings('airflow:\n  pools:\n    - {pool_name: p, pool_slot: two}\n'), /pool_slot must be a whole number/);
    assert.throws(() => parseAirflowSettings('airflow:\n  variables:\n    - {variable_name: a, variable_value: 1}\n    - {variable_name: a, variable_value: 2}\n'), /variable "a" is listed twice/);
    assert.throws(() => parseAirflowSettings('airflow:\n  connections:\n    - conn_id: [unclosed\n'), /not valid YAML/);
  });
});
