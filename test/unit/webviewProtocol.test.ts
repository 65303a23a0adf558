import { strict as assert } from 'node:assert';
import { isToHost } from '../../src/protocol/messageBrowser';

describe('message browser webview: only well-formed messages reach the controller', () => {
  const filter = { query: 'needle', regex: false, caseSensitive: false, fields: { key: true, value: true, headers: false } };
  const form = { mode: 'earliest', follow: false };

  it('accepts every message the front end sends', () => {
    for (const m of [
      { type: 'ready' },
      { type: 'ready', start: 0, count: 57 },
      { type: 'pull', start: 120, count: 57, version: -1 },
      { type: 'start', form },
      { type: 'start', form: { mode: 'window', from: 1_700_000_000_000, to: 1_700_000_060_000, follow: false, partitions: [0, 2], isolation: 'read_uncommitted' } },
      { type: 'stop' },
      { type: 'retry' },
      { type: 'page', reqId: 7, start: 0, count: 120 },
      { type: 'filter', filter },
      { type: 'filter', filter: { ...filter, regex: true, partitions: [1], timeFrom: 1, timeTo: 2 } },
      { type: 'order', newestFirst: true },
      { type: 'detail', seq: 3 },
      { type: 'export', format: 'csv' },
      { type: 'copy', seq: 0 },
      { type: 'produceAgain', seq: 12 },
      { type: 'histogram' },
    ]) {
      assert.equal(isToHost(m), true, JSON.stringify(m));
    }
  });

  it('drops what a compromised or buggy page could send instead', () => {
    for (const m of [
      null,
      'ready',
      [{ type: 'ready' }],
      { type: 'eval', code: 'process.exit()' },
      { type: 'start' },
      { type: 'start', form: { mode: 'everything', follow: false } },
      { type: 'start', form: { mode: 'offset', follow: 'yes' } },
      { type: 'start', form: { ...form, partitions: ['0'] } },
      { type: 'start', form: { ...form, isolation: 'dirty' } },
      { type: 'ready', start: -5 },
      { type: 'pull', start: 0, count: 57 },
      { type: 'pull', start: 0, count: 1e6, version: 3 },
      { type: 'page', reqId: 1, start: -1, count: 10 },
      { type: 'page', reqId: 1, start: 0, count: 1e9 },
      { type: 'page', reqId: '1', start: 0, count: 10 },
      { type: 'filter', filter: { ...filter, query: 42 } },
      { type: 'filter', filter: { ...filter, fields: null } },
      { type: 'filter', filter: { ...filter, query: 'x'.repeat(20_000) } },
      { type: 'order', newestFirst: 'true' },
      { type: 'detail', seq: 1.5 },
      { type: 'copy', seq: -1 },
      { type: 'export', format: 'xml' },
    ]) {
      assert.equal(isToHost(m), false, JSON.stringify(m)?.slice(0, 80));
    }
  });
});

describe('connection form webview: only well-formed messages reach the host', () => {
  const { isFromConnectionEditor } = require('../../src/protocol/connectionEditor') as typeof import('../../src/protocol/connectionEditor');
  const { EMPTY_FORM } = require('../../src/services/connections/form') as typeof import('../../src/services/connections/form');
  it('accepts what the form sends', () => {
    for (const m of [{ type: 'ready' }, { type: 'cancel' }, { type: 'save', form: EMPTY_FORM }, { type: 'test', form: { ...EMPTY_FORM, name: 'x' } }, { type: 'browse', field: 'caFile' }]) {
      assert.equal(isFromConnectionEditor(m), true, JSON.stringify(m));
    }
  });
  it('drops a form with a wrong field, a file field it does not know, or an unknown type', () => {
    for (const m of [
      { type: 'save', form: { ...EMPTY_FORM, kafkaEnabled: 'yes' } },
      { type: 'save', form: { ...EMPTY_FORM, name: 'x'.repeat(10_000) } },
      { type: 'test' },
      { type: 'browse', field: '/etc/passwd' },
      { type: 'run', cmd: 'rm' },
      null,
      'save',
    ]) {
      assert.equal(isFromConnectionEditor(m), false, JSON.stringify(m)?.slice(0, 80));
    }
  });
});
