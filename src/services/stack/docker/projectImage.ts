/**
 * A project run on the bundled Docker stack: its folders mounted where the stack's own are (the
 * compose file's DATAPIPELINE_PROJECT_* variables), and its requirements.txt and packages.txt (Astro's
 * Debian packages) as an image built FROM the stack's Airflow image: apt for the packages, pip for the
 * requirements under Airflow's constraints for that image's version (the constraints file the image
 * was built with), and the Spark packages its DAGs name resolved into the image's Ivy cache. The image's tag is a hash of the files and of the image it is built on, so an
 * unchanged project reuses it and a changed file builds a new one; the stack's own image is never
 * changed (a project does not leak into another's Airflow).
 */
import type Dockerode from 'dockerode';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dockerCall } from '../../docker/client';
import type { ProjectPaths } from '../native/layout';
import { StackError, type OperationOptions } from '../types';
import { buildStep, shortInstruction, throwIfAborted } from './composeOutput';
import { tarFiles } from './tar';
import { pipReason } from '../../util/pipReason';
import { findSparkPackages } from '../../project/sparkPackages';
import { requirementsKey } from '../../project/requirements';
import type { ComposeModel, ComposeService } from '../../docker/composeFile';
import type { ComposeProject } from '../../docker/compose';
import type { StackImages } from './images';
import type { Logger } from '../../util/logger';
import type { AirflowMajor } from '../airflowVersion';
import { buildInputsHash } from './buildInputs';
import { AIRFLOW_PROFILE, SPARK_WORKER_SERVICE } from './topology';

/** The constraints file of an Airflow of the stack (versions/airflow-constraints-<version>.txt; undefined: not there). */
function constraintsOf(model: ComposeModel, major: AirflowMajor): string | undefined {
  const version = major === 3 ? model.env.AIRFLOW3_VERSION : model.env.AIRFLOW_VERSION;
  if (!version) return undefined;
  try {
    return fs.readFileSync(path.join(model.dir, 'versions', `airflow-constraints-${version}.txt`), 'utf8');
  } catch {
    return undefined;
  }
}

/** The compose variables naming the project's parts (see stack/docker-compose.yaml). */
export function projectFolderVariables(project: ProjectPaths | undefined): Record<string, string> {
  if (!project) return {};
  const out: Record<string, string> = { DATAPIPELINE_PROJECT_DAGS: project.dagsDir };
  if (project.scriptsDir) out.DATAPIPELINE_PROJECT_SCRIPTS = project.scriptsDir;
  if (project.pluginsDir) out.DATAPIPELINE_PROJECT_PLUGINS = project.pluginsDir;
  if (project.includeDir) out.DATAPIPELINE_PROJECT_INCLUDE = project.includeDir;
  return out;
}

/** The variable that names the Airflow image of each Airflow's services. */
export const PROJECT_IMAGE_VARIABLES = ['DATAPIPELINE_PROJECT_IMAGE', 'DATAPIPELINE_PROJECT_IMAGE3'] as const;
/** The variable that names the Spark master's and workers' image (the project's requirements for the executors). */
export const PROJECT_SPARK_IMAGE_VARIABLE = 'DATAPIPELINE_PROJECT_SPARK_IMAGE';
/** Those variables empty: the stack's own images, as they are built. */
export const NO_PROJECT_IMAGES: Readonly<Record<string, string>> = Object.fromEntries([...PROJECT_IMAGE_VARIABLES, PROJECT_SPARK_IMAGE_VARIABLE].map((v) => [v, '']));

export const PROJECT_DOCKERFILE = `# A project's requirements over DataPipeline's Airflow image (built by DataPipeline, not a file of yours)
# What changes least comes first, so a requirement saved rebuilds the pip step only (the layers before are cached).
ARG BASE
FROM \${BASE}
USER 0
# the Spark packages its DAGs name (--packages), resolved here into an Ivy cache of the image's own:
# a submit finds them there and downloads nothing (the containers reach no registry)
COPY spark-packages.txt /build/project/
RUN set -eux; \\
    pkgs="$(paste -sd, /build/project/spark-packages.txt)"; \\
    if [ -n "$pkgs" ]; then \\
      mkdir -p /opt/datapipeline/ivy; \\
      /opt/airflow-venv/bin/python -c "import sys; from pyspark.sql import SparkSession; SparkSession.builder.master('local[1]').config('spark.jars.packages', sys.argv[1]).config('spark.jars.ivy', '/opt/datapipeline/ivy').getOrCreate().stop()" "$pkgs"; \\
      chmod -R a+rwX /opt/datapipeline/ivy; \\
      sed -i 's#^spark.jars.ivy .*#spark.jars.ivy                 /opt/datapipeline/ivy#' /opt/spark-conf/spark-defaults.conf; \\
    fi
COPY packages.txt /build/project/
RUN set -eux; \\
    pkgs="$(sed -e 's/#.*//' /build/project/packages.txt | xargs)"; \\
    if [ -n "$pkgs" ]; then \\
      export DEBIAN_FRONTEND=noninteractive; apt-get update; apt-get install -y --no-install-recommends $pkgs; rm -rf /var/lib/apt/lists/*; \\
    fi
COPY requirements.txt /build/project/
RUN set -eux; \\
    constraints="$(ls /build/airflow-constraints-*.txt | head -n 1)"; \\
    /opt/airflow-venv/bin/pip install --no-cache-dir -r /build/project/requirements.txt -c "$constraints"
USER 50000
`;

/**
 * The project's Python requirements for Spark's executors (and a driver in the master's container),
 * over the stack's Spark image: what a UDF imports is there on every worker. Airflow's own packages
 * (apache-airflow and its providers) are the Airflow image's and left out; the rest is resolved under
 * the constraints of the Airflow the stack runs, so the driver (in Airflow's task) and the executors
 * get the same versions.
 */
export const PROJECT_SPARK_DOCKERFILE = `# A project's requirements for Spark's executors over DataPipeline's Spark image (built by DataPipeline, not a file of yours)
ARG BASE
FROM \${BASE}
USER 0
COPY requirements.txt constraints.txt /build/project/
RUN set -eux; \\
    grep -viE '^[[:space:]]*apache-airflow' /build/project/requirements.txt > /build/project/spark-requirements.txt || true; \\
    /opt/spark-venv/bin/pip install --no-cache-dir -r /build/project/spark-requirements.txt -c /build/project/constraints.txt
USER 185
`;

export interface ProjectImagePlan {
  /** the Airflow image of the project (requirements, packages, Spark packages) or its Spark image (requirements) */
  kind: 'airflow' | 'spark';
  /** the stack's image it is built on */
  base: string;
  tag: string;
  requirements: string;
  packages: string;
  /** Maven coordinates its DAGs give spark-submit, one per line */
  sparkPackages: string;
  /** Spark's: the constraints file of the Airflow the stack runs */
  constraints?: string;
}

function readPart(file: string | undefined, what: string): string {
  if (!file) return '';
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new StackError(`Cannot read the project's ${what} ${file}: ${(e as Error).message}`, { nextStep: `Fix the file (or the setting that names it), then start again.` });
  }
}

/**
 * The image a project needs over `base` (undefined: it has no requirements or packages, the stack's
 * image serves as it is). `inputs` is the hash of what the base image is built from.
 */
export function projectImagePlan(project: ProjectPaths | undefined, base: string, inputs: string, parts: ProjectParts = readProjectParts(project)): ProjectImagePlan | undefined {
  const { requirements, packages, sparkPackages } = parts;
  if (!requirementsKey(requirements) && !requirementsKey(packages) && !sparkPackages) return undefined;
  // what pip and apt read: a comment saved builds nothing
  const hash = crypto.createHash('sha256').update(`${base}\0${inputs}\0${PROJECT_DOCKERFILE}\0${requirementsKey(requirements)}\0${requirementsKey(packages)}\0${sparkPackages}`).digest('hex').slice(0, 16);
  return { kind: 'airflow', base, tag: `datapipeline/airflow-project:${hash}`, requirements, packages, sparkPackages };
}

/** The image of the project's requirements over the stack's Spark image `base` (undefined: none to add). */
export function projectSparkImagePlan(
  project: ProjectPaths | undefined,
  base: string,
  inputs: string,
  constraints: string,
  requirements: string = readPart(project?.requirements, 'requirements'),
): ProjectImagePlan | undefined {
  const key = requirementsKey(requirements);
  // Airflow's own packages are the Airflow image's
  if (!key.split('\n').some((l) => l !== '' && !/^apache-airflow/i.test(l))) return undefined;
  const hash = crypto.createHash('sha256').update(`${base}\0${inputs}\0${PROJECT_SPARK_DOCKERFILE}\0${key}\0${constraints}`).digest('hex').slice(0, 16);
  return { kind: 'spark', base, tag: `datapipeline/spark-project:${hash}`, requirements, packages: '', sparkPackages: '', constraints };
}

/** What a project's images are built from: its requirements, its Debian packages, the Spark packages its DAGs name (read once per plan). */
export interface ProjectParts {
  requirements: string;
  packages: string;
  sparkPackages: string;
}

export function readProjectParts(project: ProjectPaths | undefined): ProjectParts {
  return {
    requirements: readPart(project?.requirements, 'requirements'),
    packages: readPart(project?.packages, 'Debian packages (packages.txt)'),
    sparkPackages: findSparkPackages(project?.dagsDir).join('\n'),
  };
}

/** Builds the plan's image unless it is there, reporting "step k of n"; a refused requirement is named with pip's reason. */
export async function ensureProjectImage(docker: Dockerode, plan: ProjectImagePlan, opts: OperationOptions & { label: string; percent: [number, number] }): Promise<boolean> {
  const exists = await dockerCall(docker, `inspect of image ${plan.tag}`, (abortSignal) => docker.getImage(plan.tag).inspect({ abortSignal } as object)).then(
    () => true,
    () => false,
  );
  if (exists) return false;
  throwIfAborted(opts.signal);
  const [from, to] = opts.percent;
  const what = plan.kind === 'spark' ? 'Spark' : 'Airflow';
  const head = `Building the project's ${what} image (${opts.label})`;
  opts.onProgress?.({ step: head, percent: from });
  const context = tarFiles(
    plan.kind === 'spark'
      ? [
          { path: 'Dockerfile', content: PROJECT_SPARK_DOCKERFILE },
          { path: 'requirements.txt', content: plan.requirements },
          { path: 'constraints.txt', content: plan.constraints ?? '' },
        ]
      : [
          { path: 'Dockerfile', content: PROJECT_DOCKERFILE },
          { path: 'requirements.txt', content: plan.requirements },
          { path: 'packages.txt', content: plan.packages },
          { path: 'spark-packages.txt', content: plan.sparkPackages ? `${plan.sparkPackages}\n` : '' },
        ],
  );
  const lines: string[] = [];
  let last: ReturnType<typeof buildStep>;
  let failure: string | undefined;
  const stream = await docker.buildImage(context as unknown as NodeJS.ReadableStream, {
    t: plan.tag,
    buildargs: { BASE: plan.base },
    networkmode: 'host', // as the stack's own builds: the registries on the host's network
    labels: { 'datapipeline.project-image': 'true', 'datapipeline.project-base': plan.base },
    forcerm: true,
  } as object);
  const onAbort = () => (stream as unknown as { destroy?: () => void }).destroy?.();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (err: Error | null) => (err ? reject(err) : resolve()),
        (ev: { stream?: string; error?: string; errorDetail?: { message?: string } }) => {
          if (ev.error) failure = ev.errorDetail?.message ?? ev.error;
          for (const line of (ev.stream ?? '').split(/\r?\n/)) {
            if (!line.trim()) continue;
            lines.push(line);
            if (lines.length > 200) lines.shift();
            const st = buildStep(line);
            if (st) {
              last = st;
              opts.onProgress?.({ step: `${head}: step ${st.step} of ${st.total}, ${shortInstruction(st.instruction)}`, percent: Math.round(from + ((to - from) * st.step) / (st.total + 1)) });
            }
          }
        },
      );
    });
  } catch (e) {
    failure ??= (e as Error).message;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (opts.signal?.aborted) throw new StackError(`Start Stack was cancelled while building the project's ${what} image; nothing was started.`);
  if (failure) {
    const pip = last && /pip install/.test(last.instruction);
    const why = pipReason(lines.join('\n'));
    throw new StackError(
      pip
        ? `The project's requirements cannot be installed in the stack's ${what} (${plan.base}):\n${why}`
        : `Building the project's ${what} image failed${last ? ` at step ${last.step} of ${last.total} (${shortInstruction(last.instruction)})` : ''}: ${failure}`,
      {
        logTail: lines.filter((l) => l.trim()).slice(-25),
        nextStep: pip
          ? "Change the version in requirements.txt to one Airflow's constraints allow, or remove the line; the stack's own image is unchanged."
          : 'Read the build log (DataPipeline log): packages.txt names Debian packages (apt), requirements.txt Python ones (pip); check the network, then start again.',
      },
    );
  }
  return true;
}

/** What the image is built from, as a short label for progress: "requirements.txt, Spark packages of the DAGs". */
export function projectLabel(project: ProjectPaths, plan: ProjectImagePlan): string {
  const parts: string[] = [];
  if (plan.kind === 'spark') return `${project.requirements ? path.basename(project.requirements) : 'requirements'} for the executors`;
  if (project.requirements && plan.requirements.trim()) parts.push(path.basename(project.requirements));
  if (project.packages && plan.packages.trim()) parts.push(path.basename(project.packages));
  if (plan.sparkPackages) parts.push('Spark packages of the DAGs');
  return parts.join(', ');
}

function mtime(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * The project's image over each Airflow's image (none: nothing to add), kept while its files are
 * unchanged (by their times: the compose environment asks for it at every call; the DAGs folder's
 * time changes when a DAG file is added or removed, an edited one is read at the next start).
 */
export class ProjectImages {
  private cache?: { key: string; plans: Map<AirflowMajor, ProjectImagePlan>; spark: Map<AirflowMajor, ProjectImagePlan> };

  constructor(
    private readonly project: ProjectPaths | undefined,
    /** the stack's compose model without the project's images */
    private readonly base: () => ComposeModel,
    private readonly log: Logger,
  ) {}

  /**
   * A start of the project: the stack's own images first (as built: without the project's image
   * names), then the project's over its Airflow and Spark images, each with its progress. False: the
   * project adds no image (the caller builds the stack's images as the file names them).
   */
  async ensure(airflow: AirflowMajor, ctx: { docker: Dockerode; images: StackImages; compose: ComposeProject; services: ComposeService[] }, opts: OperationOptions): Promise<boolean> {
    const plans = [this.plans(true).get(airflow), this.sparkPlans(true).get(airflow)].filter((p): p is ProjectImagePlan => !!p);
    if (!plans.length || !this.project) return false;
    const base = this.base();
    const baseServices = ctx.services.map((svc) => base.services.find((b) => b.name === svc.name) ?? svc);
    await ctx.images.buildMissing(ctx.compose, base, baseServices, opts, [5, 45], NO_PROJECT_IMAGES);
    for (const [i, plan] of plans.entries()) {
      const percent: [number, number] = [Math.round(45 + (i * 15) / plans.length), Math.round(45 + ((i + 1) * 15) / plans.length)];
      if (await ensureProjectImage(ctx.docker, plan, { ...opts, label: projectLabel(this.project, plan), percent })) this.log.info(`built ${plan.tag} over ${plan.base}`);
    }
    return true;
  }

  /** Read again at the next call (a start: a DAG's packages may have changed). */
  forget(): void {
    this.cache = undefined;
  }

  /** strict: a requirements file that cannot be read throws (a start); else it is logged and no image is named */
  plans(strict = false): Map<AirflowMajor, ProjectImagePlan> {
    return this.safely(strict, (r) => r.plans);
  }

  /** The Spark image of the project's requirements, for the stack running each Airflow (its constraints). */
  sparkPlans(strict = false): Map<AirflowMajor, ProjectImagePlan> {
    return this.safely(strict, (r) => r.spark);
  }

  private safely(strict: boolean, pick: (r: NonNullable<ProjectImages['cache']>) => Map<AirflowMajor, ProjectImagePlan>): Map<AirflowMajor, ProjectImagePlan> {
    if (!this.project) return new Map();
    try {
      return pick(this.read(this.project));
    } catch (e) {
      if (strict) throw e;
      this.log.warn(`the project's image: ${(e as Error).message}`);
      return new Map();
    }
  }

  private read(project: ProjectPaths): NonNullable<ProjectImages['cache']> {
    const stamp = (f?: string) => (f ? `${f}\0${mtime(f)}` : '');
    const key = `${stamp(project.requirements)}\0${stamp(project.packages)}\0${stamp(project.dagsDir)}`;
    if (this.cache?.key === key) return this.cache;
    const base = this.base();
    const inputs = buildInputsHash(base);
    const plans = new Map<AirflowMajor, ProjectImagePlan>();
    const spark = new Map<AirflowMajor, ProjectImagePlan>();
    const sparkImage = base.services.find((s) => s.name === SPARK_WORKER_SERVICE)?.image;
    const parts = readProjectParts(project);
    for (const major of [2, 3] as const) {
      // the image of that Airflow's services (those of its profile)
      const svc = base.services.find((s) => s.image?.startsWith('datapipeline/airflow:') && s.profiles.includes(AIRFLOW_PROFILE[major]));
      const plan = svc?.image ? projectImagePlan(project, svc.image, inputs, parts) : undefined;
      if (plan) plans.set(major, plan);
      const constraints = constraintsOf(base, major);
      const sparkPlan = sparkImage && constraints !== undefined ? projectSparkImagePlan(project, sparkImage, inputs, constraints, parts.requirements) : undefined;
      if (sparkPlan) spark.set(major, sparkPlan);
    }
    this.cache = { key, plans, spark };
    return this.cache;
  }
}
