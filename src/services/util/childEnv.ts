/**
 * The environment for a nested package manager (pip, mvn, npm, go). When the stack is provisioned
 * from `npm test`, `npm start` or `npm run stack`, the outer npm has exported its own configuration
 * (npm_config_* with npm_config_user_agent naming the outer Node, npm_package_*, npm_lifecycle_*,
 * INIT_CWD); a nested tool or a postinstall reads those as its own. They are removed; a user's own
 * NPM_CONFIG_* (upper case: a registry mirror, a proxy) stays. scripts/lib/setup.mjs and
 * scripts/setup/lib.sh do the same for the setup scripts.
 */
export function packageManagerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (/^npm_/.test(k) || k === 'INIT_CWD' || k === 'NODE') continue;
    out[k] = v;
  }
  if (out.PATH) out.PATH = out.PATH.split(':').filter((d) => !/\/@npmcli\/run-script\/lib\/node-gyp-bin$/.test(d)).join(':');
  return out;
}
