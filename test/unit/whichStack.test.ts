import { strict as assert } from 'node:assert';
import type { Project } from '../../src/services/project/detect';
import { dockerStackFor, mustAskWhichStack, parseProjectStackChoice } from '../../src/services/project/whichStack';

const BUNDLED = '/ext/stack';
const root: Project = {
  kind: 'root',
  root: '/work/orders',
  dagsDir: '/work/orders/dags',
  scriptsDir: '/work/orders/scripts',
  requirements: '/work/orders/requirements.txt',
  composeFile: '/work/orders/docker-compose.yaml',
  overridden: [],
};
const astro: Project = { kind: 'astro', root: '/work/astro', dagsDir: '/work/astro/dags', includeDir: '/work/astro/include', packages: '/work/astro/packages.txt', overridden: [] };

describe('which stack Docker runs for a project', () => {
  it('a project with its own compose file: asked once; its file as it is, or the bundled stack with its parts', () => {
    assert.equal(mustAskWhichStack(root, 'ask'), true);
    assert.equal(mustAskWhichStack(root, 'own'), false);
    assert.deepEqual(dockerStackFor(root, 'own', BUNDLED), { stackDir: '/work/orders' });
    assert.deepEqual(dockerStackFor(root, 'ask', BUNDLED), { stackDir: '/work/orders' }, 'not decided: as before (Start Stack asks first)');
    assert.deepEqual(dockerStackFor(root, 'bundled', BUNDLED), {
      stackDir: BUNDLED,
      project: { dagsDir: '/work/orders/dags', scriptsDir: '/work/orders/scripts', pluginsDir: undefined, includeDir: undefined, requirements: '/work/orders/requirements.txt', packages: undefined },
    });
  });
  it('a project without one runs the bundled stack with its parts, never asked; the workspace\u2019s stack copy and no project run as they are', () => {
    assert.equal(mustAskWhichStack(astro, 'ask'), false);
    assert.equal(dockerStackFor(astro, 'ask', BUNDLED).stackDir, BUNDLED);
    assert.equal(dockerStackFor(astro, 'own', BUNDLED).project?.packages, '/work/astro/packages.txt');
    const copy: Project = { kind: 'stack', root: '/work/x/stack', dagsDir: '/work/x/stack/dags', composeFile: '/work/x/stack/docker-compose.yaml', overridden: [] };
    assert.deepEqual(dockerStackFor(copy, 'bundled', BUNDLED), { stackDir: '/work/x/stack' });
    assert.equal(mustAskWhichStack(copy, 'ask'), false);
    assert.deepEqual(dockerStackFor({ kind: 'bundled', root: BUNDLED, dagsDir: `${BUNDLED}/dags`, overridden: [] }, 'ask', BUNDLED), { stackDir: BUNDLED });
  });
  it('a hostile or mistyped setting is "ask"', () => {
    assert.equal(parseProjectStackChoice('bundled'), 'bundled');
    assert.equal(parseProjectStackChoice('rm -rf /'), 'ask');
    assert.equal(parseProjectStackChoice(42), 'ask');
  });
});
