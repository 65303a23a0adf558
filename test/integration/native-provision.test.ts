/**
 * Provisioning into a throwaway cache (the cheapest real step: the Kafka jars from Maven):
 * interrupted, it resumes; done, it is quiet and does nothing.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { layout } from '../../src/services/stack/native/config';
import { checkPrerequisites, provisionSteps, readStepDuration, runSteps, stepsNeeded } from '../../src/services/stack/native/provision';
import { StackProgress } from '../../src/services/stack/types';
import { stackDir } from './harness';

describe('native stack provisioning (throwaway cache)', function () {
  this.timeout(600_000);
  let cache: string;
  before(() => (cache = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-provision-'))));
  after(() => fs.rmSync(cache, { recursive: true, force: true }));

  it('resumes after an interruption, then does nothing, quietly', async function () {
    const pre = await checkPrerequisites(process.env);
    const l = layout(stackDir, cache, path.join(cache, 'state'));
    const steps = provisionSteps(l, pre).filter((s) => /^Fetching Apache Kafka .* jars/.test(s.name));
    assert.equal(steps.length, 1);
    const env = { ...process.env, JAVA_HOME: process.env.JAVA_HOME || pre.javaHome };

    // interrupted while Maven copies the jars
    const ac = new AbortController();
    const t = setTimeout(() => ac.abort(), 1000);
    await assert.rejects(runSteps(steps, { env, signal: ac.signal, log: () => undefined }), (e: Error) => e.name === 'AbortError');
    clearTimeout(t);
    assert.equal(stepsNeeded(steps).length, 1, 'an interrupted step is not marked done');
    assert.ok(!fs.existsSync(l.kafkaLibs), 'no half-filled jar folder');

    // the next run finishes the step, records its duration and leaves no temporary folder
    const progress: StackProgress[] = [];
    assert.equal(await runSteps(steps, { env, log: () => undefined }, (p) => progress.push(p)), 1);
    const jars = fs.readdirSync(l.kafkaLibs);
    assert.ok(jars.includes('kafka_2.13-4.0.0.jar') && jars.includes('kafka-clients-4.0.0.jar'), jars.join(' '));
    assert.deepEqual(fs.readdirSync(path.dirname(l.kafkaLibs)).filter((f) => f.includes('.tmp-')), []);
    assert.deepEqual(progress.map((p) => p.percent), [0, 100]);
    assert.ok(readStepDuration(steps[0])!.seconds > 0);

    // and then nothing is left to do: no work, no progress
    const again: StackProgress[] = [];
    assert.equal(await runSteps(steps, { env, log: () => undefined }, (p) => again.push(p)), 0);
    assert.deepEqual(again, []);
  });
});
