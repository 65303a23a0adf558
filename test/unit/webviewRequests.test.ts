import * as assert from 'node:assert/strict';
import { answerRequests, type RequestReply } from '../../src/webviews/requests';
import { Requests } from '../../media/shared/requests';

type Msg = { type: 'save'; name: string; reqId?: number } | { type: 'openLog'; reqId?: number };

describe('webview requests: every request a page sends gets one reply by its id', () => {
  it('the host answers a handled request ok, and a failed one with its error, reported once to the panel', async () => {
    const posted: RequestReply[] = [];
    const failed: string[] = [];
    const answer = answerRequests<Msg>(
      async (m) => {
        if (m.type === 'openLog') throw new Error('the task log is gone (HTTP 404)');
      },
      { post: (r) => posted.push(r), failed: (message, m) => failed.push(`${m.type}: ${message}`) },
    );
    await answer({ type: 'save', name: 'prod', reqId: 7 });
    await answer({ type: 'openLog', reqId: 8 });
    await answer({ type: 'openLog' }); // no id: reported, nothing to answer
    assert.deepEqual(posted, [
      { type: 'reply', reqId: 7, ok: true },
      { type: 'reply', reqId: 8, ok: false, error: 'the task log is gone (HTTP 404)' },
    ]);
    assert.deepEqual(failed, ['openLog: the task log is gone (HTTP 404)', 'openLog: the task log is gone (HTTP 404)']);
  });

  it('the page matches each reply to what it asked: a failure names the request, a success clears it, anything else passes on', async () => {
    const sent: Array<Msg & { reqId: number }> = [];
    const failures: string[] = [];
    const successes: string[] = [];
    const page = new Requests<Msg>((m) => sent.push(m), (error, m) => failures.push(`${m.type}: ${error}`), (m) => successes.push(m.type));
    const host = answerRequests<Msg>(
      async (m) => {
        if (m.type === 'openLog') throw new Error('no log');
      },
      { post: (r) => assert.equal(page.reply(r), true), failed: () => undefined },
    );
    const a = page.send({ type: 'save', name: 'dev' });
    const b = page.send({ type: 'openLog' });
    assert.notEqual(a, b);
    assert.equal(page.waiting, 2);
    for (const m of sent) await host(m);
    assert.deepEqual(failures, ['openLog: no log']);
    assert.deepEqual(successes, ['save']);
    assert.equal(page.waiting, 0);
    // the page's other messages are not replies; a reply to nothing it asked is dropped quietly
    assert.equal(page.reply({ type: 'status', state: 'live' }), false);
    assert.equal(page.reply({ type: 'reply', reqId: 999, ok: false, error: 'x' }), true);
    assert.equal(page.reply({ type: 'reply', reqId: 'x', ok: true }), false);
    assert.deepEqual(failures, ['openLog: no log']);
  });
});
