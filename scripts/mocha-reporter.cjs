// Mocha's spec reporter, plus the run's counts written to $DP_RESULTS_FILE for scripts/test.mjs.
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');

class DataPipelineReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const failures = [];
    runner.on('fail', (test, err) => failures.push({ title: test.fullTitle(), error: String(err && err.message) }));
    runner.once('end', () => {
      const file = process.env.DP_RESULTS_FILE;
      if (!file) return;
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const s = runner.stats || {};
      fs.writeFileSync(file, JSON.stringify({ passes: s.passes || 0, failures: s.failures || 0, pending: s.pending || 0, duration: s.duration, failed: failures }, null, 2));
    });
  }
}
module.exports = DataPipelineReporter;
