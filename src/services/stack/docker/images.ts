/**
 * The Docker stack's images and folders before a start: which images are there (and built from the
 * current inputs), pulling an optional one, building the missing ones with progress, the extra CA
 * for builds, and bind-mounted folders made as the stack folder's owner.
 */
import type Dockerode from 'dockerode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dockerCall, DockerUnavailableError } from '../../docker/client';
import type { ComposeProject } from '../../docker/compose';
import type { ComposeModel, ComposeService } from '../../docker/composeFile';
import { parseComposeBindMounts } from '../../spark/containerPaths';
import type { Logger } from '../../util/logger';
import { StackError, type OperationOptions } from '../types';
import { BUILD_HASH_LABEL, buildInputsHash } from './buildInputs';
import { buildStep, shortInstruction, throwIfAborted, toStackError } from './composeOutput';
import { errorMessage } from '../../util/errors';
import { runnableWithout } from './startSet';

export class StackImages {
  constructor(
    private readonly client: () => Dockerode,
    private readonly log: Logger,
    private readonly opts: { pullTimeoutMs?: number; extraCaFile?: string },
  ) {}

  async exists(image: string): Promise<boolean> {
    return (await this.labels(image)) !== undefined;
  }

  /** The image's labels, undefined when there is no such image. */
  async labels(image: string): Promise<Record<string, string> | undefined> {
    const docker = this.client();
    try {
      return (await dockerCall(docker, `inspect of image ${image}`, (abortSignal) => docker.getImage(image).inspect({ abortSignal } as object))).Config?.Labels ?? {};
    } catch (e) {
      if (e instanceof DockerUnavailableError) throw toStackError(e);
      return undefined;
    }
  }

  /** The image is here, or could be pulled within the timeout. */
  async available(image: string, signal?: AbortSignal): Promise<boolean> {
    return (await this.exists(image)) || this.tryPull(image, signal);
  }

  /** Pulls an image (false when it cannot be had within the timeout). */
  async tryPull(image: string, signal?: AbortSignal): Promise<boolean> {
    const docker = this.client();
    const timeoutMs = this.opts.pullTimeoutMs ?? 60_000;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
        signal?.addEventListener('abort', () => reject(new Error('cancelled')), { once: true });
        docker.pull(image, (err: Error | null, stream?: NodeJS.ReadableStream) => {
          if (err || !stream) {
            clearTimeout(timer);
            reject(err ?? new Error('no stream'));
            return;
          }
          docker.modem.followProgress(stream, (e: Error | null) => {
            clearTimeout(timer);
            if (e) reject(e);
            else resolve();
          });
        });
      });
      return this.exists(image);
    } catch (err) {
      this.log.info(`pull ${image}: ${errorMessage(err)}`);
      return false;
    }
  }

  /**
   * Bind-mounted folders of the stack (logs/, checkpoints/) that do not exist yet: made now, owned
   * like the stack folder. Docker would create them as root, and the containers (running as the
   * folder's owner) could not write there.
   */
  ensureBindSources(model: ComposeModel, services: ComposeService[]): void {
    let owner: fs.Stats;
    try {
      owner = fs.statSync(model.dir);
    } catch {
      return;
    }
    const text = fs.readFileSync(model.file, 'utf8');
    for (const svc of services) {
      for (const m of parseComposeBindMounts(text, model.dir, svc.name, { ...model.env })) {
        if (fs.existsSync(m.source) || !m.source.startsWith(model.dir + path.sep)) continue;
        fs.mkdirSync(m.source, { recursive: true });
        try {
          fs.chownSync(m.source, owner.uid, owner.gid);
        } catch {
          // not root: the folder is ours already
        }
      }
    }
  }

  /** The extra CA bundle of the setting, where the images' builds read it (a build input: copied before anything is hashed). */
  syncExtraCa(model: Pick<ComposeModel, 'dir'>): void {
    const src = this.opts.extraCaFile;
    if (!src) return;
    let pem: string;
    try {
      pem = fs.readFileSync(src, 'utf8');
    } catch (e) {
      throw new StackError(`The extra CA file ${src} (datapipeline.docker.extraCaFile) cannot be read: ${(e as Error).message}`, {
        nextStep: 'Point the setting at a PEM file, or clear it.',
      });
    }
    if (!/-----BEGIN CERTIFICATE-----/.test(pem)) {
      throw new StackError(`${src} (datapipeline.docker.extraCaFile) holds no PEM certificate.`, { nextStep: 'Point the setting at a PEM bundle (-----BEGIN CERTIFICATE-----).' });
    }
    const dest = path.join(model.dir, 'certs', 'extra-ca.crt');
    const current = fs.existsSync(dest) ? fs.readFileSync(dest, 'utf8') : undefined;
    if (current === pem) return;
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, pem);
  }

  /**
   * Builds the images the services need that are not there yet, one image at a time, reporting
   * "image k of n: step s of t (instruction)". A failed build names the image and keeps the
   * build log's tail; cancelling stops the build.
   */
  async buildMissing(compose: ComposeProject, model: ComposeModel, services: ComposeService[], opts: OperationOptions, span: [number, number], env: Record<string, string> = {}): Promise<void> {
    const byImage = new Map<string, ComposeService>();
    for (const svc of services) if (svc.built && svc.image && !byImage.has(svc.image)) byImage.set(svc.image, svc);
    // the extra CA is a build input: in place before the hash (else the first build is labelled with
    // the hash of the file before the CA was copied in, and the next start builds every image again)
    this.syncExtraCa(model);
    // missing, or built from other Dockerfiles/versions than these (an update of the extension)
    const hash = buildInputsHash(model);
    const missing: Array<[string, ComposeService]> = [];
    for (const [image, svc] of byImage) {
      const labels = await this.labels(image);
      if (!labels || labels[BUILD_HASH_LABEL] !== hash) missing.push([image, svc]);
    }
    if (missing.length === 0) return;
    const [from, to] = span;
    for (let k = 0; k < missing.length; k++) {
      const [image, svc] = missing[k];
      throwIfAborted(opts.signal);
      const head = `Building ${image} (image ${k + 1} of ${missing.length})`;
      const at = (frac: number) => Math.round(from + ((to - from) * (k + frac)) / missing.length);
      opts.onProgress?.({ step: head, percent: at(0) });
      const tail: string[] = [];
      let last: ReturnType<typeof buildStep>;
      const r = await compose.run(['build', svc.name], {
        extraEnv: { ...env, DATAPIPELINE_BUILD_HASH: hash },
        signal: opts.signal,
        onLine: (line) => {
          tail.push(line);
          if (tail.length > 40) tail.shift();
          this.log.debug(`build ${image}: ${line}`);
          const st = buildStep(line);
          if (!st) return;
          last = st;
          const where = `${st.stage ? `${st.stage} ` : ''}step ${st.step} of ${st.total}`;
          opts.onProgress?.({ step: `${head}: ${where}, ${shortInstruction(st.instruction)}`, percent: at(Math.min(0.99, st.step / st.total)) });
        },
      });
      if (opts.signal?.aborted) throw new StackError(`Start Stack was cancelled while building ${image}; nothing was started.`);
      if (r.code !== 0) {
        const where = last ? ` at step ${last.step} of ${last.total} (${shortInstruction(last.instruction)})` : '';
        throw new StackError(`Building the image ${image} failed${where}.`, {
          service: svc.name,
          logTail: tail.filter((l) => l.trim()).slice(-25),
          nextStep:
            'Read the build log (DataPipeline log). Builds download from Debian, PyPI and Maven Central: check the network; ' +
            'behind a TLS-intercepting proxy put its CA in stack/certs/extra-ca.crt (or set datapipeline.docker.extraCaFile), then start again.',
        });
      }
    }
  }

  /**
   * The images the services name by tag (a project's own compose file: postgres:13, apache/kafka…)
   * that are not here: pulled, one at a time with progress. One that cannot be had is named with the
   * services that need it; the services that can run without it start (the others are shown left
   * out, with why, in `leftOut`), and when none can, nothing starts.
   */
  async pullMissing(model: ComposeModel, services: ComposeService[], opts: OperationOptions, leftOut: Map<string, string>): Promise<ComposeService[]> {
    const images = [...new Set(services.filter((svc) => svc.image && !svc.built).map((svc) => svc.image!))];
    const toPull: string[] = [];
    for (const image of images) if (!(await this.exists(image))) toPull.push(image);
    const missing = new Set<string>();
    for (let k = 0; k < toPull.length; k++) {
      throwIfAborted(opts.signal);
      opts.onProgress?.({ step: `Pulling ${toPull[k]} (image ${k + 1} of ${toPull.length})`, percent: 58 });
      if (!(await this.tryPull(toPull[k], opts.signal))) missing.add(toPull[k]);
    }
    if (!missing.size) return services;
    const { run, left } = runnableWithout(services, missing);
    const users = (image: string) => services.filter((svc) => svc.image === image).map((svc) => svc.name).join(', ');
    const list = [...missing].map((image) => `${image} (${users(image)})`).join('; ');
    const them = missing.size === 1 ? 'it' : 'them';
    if (!run.some((svc) => !svc.oneShot)) {
      throw new StackError(`${missing.size === 1 ? 'An image' : `${missing.size} images`} of ${path.basename(model.file)} cannot be pulled: ${list}. Without ${them} none of its services can run; nothing was started.`, {
        nextStep: `Docker reached no registry for ${them}: pull ${them} where one is reachable and load ${them} here (docker save, then docker load), or run DataPipeline's stack with this project's folders (setting datapipeline.project.stack: bundled).`,
      });
    }
    for (const l of left) {
      const note = `${l.why}; the rest of the stack runs`;
      leftOut.set(l.service, note);
      this.log.warn(`${l.service}: ${note}`);
      opts.onProgress?.({ step: `${l.service}: ${note}`, percent: 59, notice: true });
    }
    return run;
  }
}
