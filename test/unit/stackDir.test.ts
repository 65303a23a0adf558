import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveStackDir } from '../../src/services/stack/stackDir';

describe('resolveStackDir', () => {
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dp stack "dir" '))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('uses the workspace stack/ folder when it holds dags/', () => {
    fs.mkdirSync(path.join(tmp, 'ws', 'stack', 'dags'), { recursive: true });
    assert.equal(resolveStackDir([path.join(tmp, 'ws')], '/bundled'), path.join(tmp, 'ws', 'stack'));
  });

  it('uses a workspace folder that itself has dags/ and scripts/', () => {
    fs.mkdirSync(path.join(tmp, 'ws', 'dags'), { recursive: true });
    fs.mkdirSync(path.join(tmp, 'ws', 'scripts'), { recursive: true });
    assert.equal(resolveStackDir([path.join(tmp, 'ws')], '/bundled'), path.join(tmp, 'ws'));
  });

  it('falls back to the bundled stack for an unrelated workspace', () => {
    fs.mkdirSync(path.join(tmp, 'ws', 'src'), { recursive: true });
    assert.equal(resolveStackDir([path.join(tmp, 'ws')], '/bundled'), '/bundled');
    assert.equal(resolveStackDir([], '/bundled'), '/bundled');
  });
});
