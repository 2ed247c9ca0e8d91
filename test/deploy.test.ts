import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createMetrics } from '@leadscorer/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadScoringEnv, scoringEnvSchema } from '../libs/scoring-service/src/config.ts';
import { CONSUMERS, type ConsumerName } from '../libs/scoring-service/src/consumers.ts';
import { archiverEnvSchema, loadArchiverEnv } from '../services/archiver/src/config.ts';
import { leadApiEnvSchema, loadLeadApiEnv } from '../services/lead-api/src/config.ts';
import { alertsEnvSchema, loadAlertsEnv } from '../services/sales-alerts/src/config.ts';

// Keeps deploy/ (Kubernetes manifests, Prometheus rules and config, Grafana dashboard) honest
// against the code: every service has a hardened Deployment on its real port, secrets only come
// from Secrets, every variable set is one the services read (with a valid value), every metric
// an alert or panel queries exists. Reads files only; promtool and kubectl checks run when
// those tools are installed (both work offline).

const root = join(import.meta.dirname, '..');
const k8sDir = join(root, 'deploy/kubernetes');
const promDir = join(root, 'deploy/prometheus');
// The project version tags the image (test/version.test.ts checks every other place it appears).
const IMAGE = `ghcr.io/lead-scorer/lead-scorer:${(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version}`;

// ---------------------------------------------------------------------------------------------
// Minimal shapes of what we read.

type Obj = Record<string, unknown>;
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Obj;
  [k: string]: unknown;
}
interface Probe {
  httpGet?: { path: string; port: number | string };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: Obj };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources?: {
    requests?: { cpu?: string; memory?: string };
    limits?: { cpu?: string; memory?: string };
  };
  securityContext?: {
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type: string };
  };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
  volumes?: {
    name: string;
    configMap?: { name: string };
    secret?: { secretName: string; items?: { key: string; path: string }[] };
  }[];
}
interface Deployment extends K8sObject {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: PodSpec;
    };
  };
}
interface StatefulSet extends Deployment {
  spec: Deployment['spec'] & {
    serviceName: string;
    volumeClaimTemplates?: { metadata: { name: string }; spec: { accessModes: string[] } }[];
  };
}
interface Kustomization {
  namespace?: string;
  resources?: string[];
  configMapGenerator?: { name: string; files?: string[]; envs?: string[]; literals?: string[] }[];
  secretGenerator?: unknown[];
}
interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}
interface Dashboard {
  schemaVersion: number;
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query: string } }[] };
}

// ---------------------------------------------------------------------------------------------
// The code side: services, their ports, what they are, the environment they read.

const services = readdirSync(join(root, 'services'))
  .filter((s) => existsSync(join(root, 'services', s, 'src/main.ts')))
  .sort();

function serviceSource(s: string): string {
  const dir = join(root, 'services', s, 'src');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}

/** The port a service serves /metrics, /healthz and /readyz on when HTTP_PORT is unset. */
function defaultPort(s: string): number {
  // The consumer services take theirs from the table they start from.
  if (s in CONSUMERS) return CONSUMERS[s as ConsumerName].defaultPort;
  const m = /defaultPort(?:\s*:\s*|\s*=\s*)(\d+)/.exec(serviceSource(s));
  if (!m) throw new Error(`services/${s}/src declares no defaultPort`);
  return Number(m[1]);
}

/** Loads the scoring model (itself, or through the scoring-service runtime). */
function readsModel(s: string): boolean {
  return /\b(loadModel|readModel|startConsumerService|startRelayService|startFadingService)\b/.test(
    serviceSource(s),
  );
}

/** A member of a Kafka consumer group (directly or through the scoring-service runtime). */
function isConsumer(s: string): boolean {
  return /\b(startConsumerService|KafkajsSource|ArchiveConsumer)\b/.test(serviceSource(s));
}

/** Talks to Redis (the rescore Job does; the archiver does not). */
function usesRedis(s: string): boolean {
  if (!services.includes(s)) return true;
  return /\b(createRedis|startConsumerService|startRelayService|startFadingService)\b/.test(serviceSource(s));
}

function envSchemaOf(s: string): { keys: string[]; load: (env: NodeJS.ProcessEnv) => unknown } {
  if (s === 'sales-alerts') return { keys: Object.keys(alertsEnvSchema.shape), load: loadAlertsEnv };
  if (s === 'lead-api') return { keys: Object.keys(leadApiEnvSchema.shape), load: loadLeadApiEnv };
  if (s === 'archiver') return { keys: Object.keys(archiverEnvSchema.shape), load: loadArchiverEnv };
  return { keys: Object.keys(scoringEnvSchema.shape), load: loadScoringEnv };
}

/** Variables naming a CA file; in the manifests they point into a mounted Secret. */
const CA_VARIABLES = ['KAFKA_SSL_CA_FILE', 'REDIS_TLS_CA_FILE'];
const STAND_IN_CA = join(mkdtempSync(join(tmpdir(), 'leadscorer-deploy-')), 'ca.crt');
writeFileSync(STAND_IN_CA, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');

/** Names the services treat as secrets (libs/runtime/src/config.ts redacts the same). */
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|KEY$/;
/** Set per Deployment or not at all: shared, they would merge consumer groups or clients. */
const PER_SERVICE = ['HTTP_PORT', 'CONSUMER_GROUP', 'KAFKA_CLIENT_ID', 'CLOCK_FIXED_MS'];

// ---------------------------------------------------------------------------------------------
// The deploy side.

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort();
}

function parseDocs(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => {
      expect(d.errors, `${file}: ${d.errors.map((e) => e.message).join('; ')}`).toEqual([]);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

/** Files of a kustomization directory holding Kubernetes objects (the kustomization excluded). */
function manifestFiles(dir: string): string[] {
  return yamlFiles(dir).filter(
    (f) =>
      f !== 'kustomization.yaml' && parseDocs(join(dir, f)).some((o) => o.apiVersion !== undefined && o.kind),
  );
}

function readKustomization(dir: string): Kustomization {
  return parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
}

function parseEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const eq = t.indexOf('=');
    expect(eq, `${file}: "${t}" is not KEY=VALUE`).toBeGreaterThan(0);
    out[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return out;
}

const kustomization = readKustomization(k8sDir);
const resources = (kustomization.resources ?? []).flatMap((f) =>
  parseDocs(join(k8sDir, f)).map((o) => ({ file: f, o })),
);
// A service runs as a Deployment, or as a StatefulSet when it keeps files (the archiver).
const WORKLOADS = ['Deployment', 'StatefulSet'];
const deployments = resources.filter((r) => WORKLOADS.includes(r.o.kind)).map((r) => r.o as Deployment);
const generator = (name: string) => kustomization.configMapGenerator?.find((g) => g.name === name);
const sharedEnvFiles = generator('lead-scorer-env')?.envs ?? [];
const sharedEnv: Record<string, string> = Object.assign(
  {},
  ...sharedEnvFiles.map((f) => parseEnvFile(join(k8sDir, f))),
);

function deploymentOf(s: string): { d: Deployment; c: Container } {
  const cmd = ['node', `services/${s}/src/main.ts`];
  for (const d of deployments) {
    const c = d.spec.template.spec.containers.find((x) => JSON.stringify(x.command) === JSON.stringify(cmd));
    if (c) return { d, c };
  }
  throw new Error(`no Deployment or StatefulSet runs ${cmd.join(' ')}`);
}

function portNumber(c: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

function envOf(c: Container): Record<string, string> {
  const literal = Object.fromEntries(
    (c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]),
  );
  return { ...sharedEnv, ...literal };
}

function secretRefs(c: Container): EnvVar[] {
  return (c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef);
}

// ---------------------------------------------------------------------------------------------
// Metric names: what the services export, and what a PromQL expression reads.

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'atan2']);

/** Metric names an expression selects (functions, keywords, labels and durations left out). */
function metricNames(expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ');
  s = s.replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  s = s.replace(/\boffset\s+-?\w+/g, ' ');
  s = s.replace(/\$\{?\w+\}?/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const before = s[m.index - 1] ?? ' ';
    if (/[0-9.]/.test(before)) continue; // exponent of a number, 1e3
    if (
      s
        .slice(m.index + m[0].length)
        .trimStart()
        .startsWith('(')
    )
      continue; // function
    if (PROMQL_KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

let knownMetrics = new Set<string>();

beforeAll(async () => {
  // Every metric a service exposes: createMetrics (incl. prom-client defaults under their standard
  // names), plus counters a service registers itself (sales-alerts), plus Prometheus' `up`.
  const metrics = createMetrics('deploy-test');
  const known = new Set<string>(['up']);
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    known.add(m.name);
    if (String(m.type) === 'histogram') for (const x of ['_bucket', '_sum', '_count']) known.add(m.name + x);
    if (String(m.type) === 'summary') for (const x of ['_sum', '_count']) known.add(m.name + x);
  }
  for (const s of services) {
    for (const m of serviceSource(s).matchAll(/name:\s*'(leadscorer_[a-z0-9_]+)'/g)) known.add(m[1]!);
  }
  knownMetrics = known;
});

function hasTool(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.error === undefined && r.status === 0;
}
const promtool = hasTool('promtool', ['--version']);
const kubectl = hasTool('kubectl', ['version', '--client']);

function run(cmd: string, args: string[], cwd = root): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

// =============================================================================================

describe('deploy/kubernetes', () => {
  it('kustomizations list exactly the manifest files of their directory (examples excluded)', () => {
    for (const dir of [k8sDir, join(k8sDir, 'monitoring'), join(k8sDir, 'rescore')]) {
      const k = readKustomization(dir);
      const listed = [...(k.resources ?? [])].sort();
      const expected = manifestFiles(dir).filter((f) => !f.includes('.example.'));
      expect(listed, dir).toEqual(expected);
      expect(k.namespace, dir).toBe('lead-scorer');
    }
    expect(kustomization.resources).not.toContain('secret.example.yaml');
    expect(existsSync(join(k8sDir, 'secret.example.yaml'))).toBe(true);
  });

  it('has one hardened Deployment (or StatefulSet) per service in services/, on its own port', () => {
    expect(services.length).toBeGreaterThan(0);
    for (const s of services) {
      const { d, c } = deploymentOf(s);
      const where = `${d.kind} ${d.metadata.name}`;
      const pod = d.spec.template.spec;
      const port = defaultPort(s);
      expect(d.metadata.name, where).toBe(s);
      expect(pod.containers, where).toHaveLength(1);
      expect(c.image, where).toBe(IMAGE);
      expect(d.spec.replicas, where).toBeGreaterThanOrEqual(1);

      // Labels the scrape configs, PodMonitor, PDBs and Services select on.
      const labels = d.spec.template.metadata.labels;
      expect(labels['app.kubernetes.io/name'], where).toBe(s);
      expect(labels['app.kubernetes.io/part-of'], where).toBe('lead-scorer');
      for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) expect(labels[k], where).toBe(v);

      // Port, probes, scrape annotations.
      expect(portNumber(c, 'metrics'), `${where}: containerPort "metrics"`).toBe(port);
      expect(envOf(c).HTTP_PORT ?? String(port), where).toBe(String(port));
      expect(c.livenessProbe?.httpGet?.path, where).toBe('/healthz');
      expect(portNumber(c, c.livenessProbe?.httpGet?.port), where).toBe(port);
      expect(c.readinessProbe?.httpGet?.path, where).toBe('/readyz');
      expect(portNumber(c, c.readinessProbe?.httpGet?.port), where).toBe(port);
      if (c.startupProbe) expect(portNumber(c, c.startupProbe.httpGet?.port), where).toBe(port);
      const ann = d.spec.template.metadata.annotations ?? {};
      expect(ann['prometheus.io/scrape'], where).toBe('true');
      expect(ann['prometheus.io/port'], where).toBe(String(port));

      // Resources.
      expect(c.resources?.requests?.cpu, where).toBeDefined();
      expect(c.resources?.requests?.memory, where).toBeDefined();
      expect(c.resources?.limits?.cpu, where).toBeDefined();
      expect(c.resources?.limits?.memory, where).toBeDefined();

      // Non-root, read-only, no capabilities, seccomp.
      expect(c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, where).toBe(true);
      expect(pod.securityContext?.runAsUser ?? 1000, where).toBeGreaterThan(0);
      expect(c.securityContext?.readOnlyRootFilesystem, where).toBe(true);
      expect(c.securityContext?.allowPrivilegeEscalation, where).toBe(false);
      expect(c.securityContext?.capabilities?.drop, where).toContain('ALL');
      expect(c.securityContext?.capabilities?.add ?? [], where).toEqual([]);
      expect((c.securityContext?.seccompProfile ?? pod.securityContext?.seccompProfile)?.type, where).toBe(
        'RuntimeDefault',
      );

      // The kubelet waits for the graceful shutdown (and a preStop sleep) before SIGKILL.
      const shutdownMs = Number(envOf(c).SHUTDOWN_TIMEOUT_MS ?? 25_000);
      const preStop = c.lifecycle?.preStop?.exec?.command;
      const sleep = preStop?.[0] === 'sleep' ? Number(preStop[1]) : 0;
      expect(pod.terminationGracePeriodSeconds ?? 30, where).toBeGreaterThan(shutdownMs / 1000 + sleep);
    }
    // ...and no workload for a service that does not exist.
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(services);
  });

  it('registers the schemas with a hardened, bounded Job on the shared environment', () => {
    const jobs = resources.filter((r) => r.o.kind === 'Job').map((r) => r.o);
    expect(jobs.map((j) => j.metadata.name)).toEqual(['register-schemas']);
    const spec = jobs[0]!.spec as {
      backoffLimit?: number;
      activeDeadlineSeconds?: number;
      ttlSecondsAfterFinished?: number;
      template: { spec: PodSpec & { restartPolicy?: string } };
    };
    expect(spec.backoffLimit).toBeGreaterThan(0);
    expect(spec.activeDeadlineSeconds).toBeGreaterThan(0);
    expect(spec.ttlSecondsAfterFinished).toBeGreaterThan(0);
    const pod = spec.template.spec;
    expect(['Never', 'OnFailure']).toContain(pod.restartPolicy);
    expect(pod.containers).toHaveLength(1);
    const c = pod.containers[0]!;
    expect(c.image).toBe(IMAGE);
    expect(c.command).toEqual(['node', 'libs/contracts/src/cli/schemas.ts', 'register']);
    expect(existsSync(join(root, c.command![1]!))).toBe(true);
    expect(c.envFrom?.[0]?.configMapRef?.name).toBe('lead-scorer-env');
    expect(sharedEnv.SCHEMA_REGISTRY_URL).toBeTruthy();
    expect(c.resources?.limits?.cpu && c.resources?.limits?.memory).toBeTruthy();
    expect(c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot).toBe(true);
    expect(c.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
    expect(c.securityContext?.capabilities?.drop).toContain('ALL');
    expect((c.securityContext?.seccompProfile ?? pod.securityContext?.seccompProfile)?.type).toBe(
      'RuntimeDefault',
    );
  });

  it('has a PodDisruptionBudget for every consumer Deployment', () => {
    const pdbs = resources.filter((r) => r.o.kind === 'PodDisruptionBudget').map((r) => r.o);
    const consumers = services.filter(isConsumer);
    expect(consumers).toEqual(expect.arrayContaining(['web-visits', 'email-engagement', 'trial-activity']));
    for (const s of consumers) {
      const { d } = deploymentOf(s);
      const labels = d.spec.template.metadata.labels;
      const pdb = pdbs.find((p) => {
        const sel =
          (p.spec?.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels ?? {};
        return Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v);
      });
      expect(pdb, `no PodDisruptionBudget selects ${s}`).toBeDefined();
      expect(pdb?.spec?.maxUnavailable ?? pdb?.spec?.minAvailable, s).toBeDefined();
    }
  });

  it('mounts the model where MODEL_FILE points, from a generator reading a copy of models/default.yaml', () => {
    const gen = generator('lead-scorer-model');
    expect(gen?.files).toHaveLength(1);
    const [key, file] = (gen?.files?.[0] ?? '').split('=') as [string, string];
    // Generated, never copied by hand: the message is the command that regenerates it.
    expect(
      readFileSync(join(k8sDir, file), 'utf8'),
      `deploy/kubernetes/${file} differs from models/default.yaml: run \`npm run model -- sync-deploy\` and commit both`,
    ).toBe(readFileSync(join(root, 'models/default.yaml'), 'utf8'));
    const modelFile = sharedEnv.MODEL_FILE!;
    expect(basename(modelFile)).toBe(key);
    for (const s of services) {
      const { d, c } = deploymentOf(s);
      const vol = d.spec.template.spec.volumes?.find((v) => v.configMap?.name === 'lead-scorer-model');
      if (!readsModel(s)) continue;
      expect(vol, `${s} reads the model but does not mount it`).toBeDefined();
      const mount = c.volumeMounts?.find((m) => m.name === vol?.name);
      expect(mount?.mountPath, s).toBe(dirname(envOf(c).MODEL_FILE ?? ''));
      expect(envOf(c).MODEL_FILE, s).toBe(modelFile);
    }
  });

  it('takes secrets from Secrets only: never a literal value, never in the shared environment', () => {
    const fromSecrets = new Set(
      deployments.flatMap((d) => d.spec.template.spec.containers.flatMap(secretRefs)).map((e) => e.name),
    );
    for (const name of ['KAFKA_SASL_PASSWORD', 'REDIS_PASSWORD', 'WEBHOOK_SECRET', 'API_KEY_HASHES'])
      expect(fromSecrets, name).toContain(name);
    for (const name of fromSecrets) {
      expect(Object.keys(sharedEnv), `shared environment sets ${name}`).not.toContain(name);
      for (const g of kustomization.configMapGenerator ?? [])
        expect(
          (g.literals ?? []).some((l) => l.startsWith(`${name}=`)),
          `${g.name} sets ${name}`,
        ).toBe(false);
    }
    expect(kustomization.secretGenerator, 'no secret values in the kustomization').toBeUndefined();
    for (const { file, o } of resources) {
      expect(o.kind, `${file} holds a Secret`).not.toBe('Secret');
      if (!WORKLOADS.includes(o.kind)) continue;
      for (const c of (o as Deployment).spec.template.spec.containers) {
        for (const e of c.env ?? []) {
          if (e.value === undefined) continue;
          expect(fromSecrets.has(e.name), `${file}: ${e.name} has a literal value`).toBe(false);
          expect(SECRET_NAME.test(e.name), `${file}: ${e.name} looks secret and has a literal value`).toBe(
            false,
          );
        }
      }
    }
    for (const name of Object.keys(sharedEnv))
      expect(SECRET_NAME.test(name), `shared environment sets ${name}, which looks secret`).toBe(false);
  });

  it('sets only variables the services read, with values they accept', () => {
    for (const name of PER_SERVICE) expect(Object.keys(sharedEnv), `shared ${name}`).not.toContain(name);
    for (const k of ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'REDIS_URL', 'LOG_LEVEL', 'MODEL_FILE'])
      expect(sharedEnv[k], k).toBeTruthy();
    expect(sharedEnv.MODEL_FILE).toBe('/etc/lead-scorer/model.yaml');
    // The shared file may carry variables only some services read (zod drops the rest there).
    const readBySome = new Set([
      ...Object.keys(scoringEnvSchema.shape),
      ...Object.keys(alertsEnvSchema.shape),
      ...Object.keys(leadApiEnvSchema.shape),
      ...Object.keys(archiverEnvSchema.shape),
      'NODE_OPTIONS',
    ]);
    for (const s of services) {
      const { c } = deploymentOf(s);
      const schema = envSchemaOf(s);
      const readByThis = new Set([...schema.keys, 'NODE_OPTIONS']);
      const env: Record<string, string> = envOf(c);
      for (const name of Object.keys(env)) {
        expect(readBySome.has(name), `${s}: ${name} is read by no service`).toBe(true);
        if (!(name in sharedEnv))
          expect(readByThis.has(name), `${s}: ${name} is not read by ${s}`).toBe(true);
      }
      // Secrets stand in with plausible values; the configuration must then load.
      for (const e of secretRefs(c)) {
        env[e.name] =
          e.name === 'WEBHOOK_URL'
            ? 'https://hooks.example.com/x'
            : e.name === 'API_KEY_HASHES'
              ? '0'.repeat(64)
              : 'x'.repeat(32);
      }
      // CA files live in a mounted Secret (checked below); here a stand-in PEM is read in their place.
      for (const name of CA_VARIABLES) if (env[name]) env[name] = STAND_IN_CA;
      const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
      expect(() => schema.load(cleaned), s).not.toThrow();
    }
  });

  it('shows the secure setup: SASL_SSL with SCRAM, TLS Redis as an ACL user, the CA and passwords from Secrets', () => {
    expect(sharedEnv.KAFKA_SSL).toBe('true');
    expect(sharedEnv.KAFKA_SASL_MECHANISM).toMatch(/^scram-sha-(256|512)$/);
    expect(sharedEnv.KAFKA_SASL_USERNAME).toBeTruthy();
    expect(sharedEnv.REDIS_URL).toMatch(/^rediss:\/\//);
    expect(sharedEnv.REDIS_TLS).toBe('true');
    expect(sharedEnv.REDIS_USERNAME).toBeTruthy();
    const examples = parseDocs(join(k8sDir, 'secret.example.yaml'));
    const exampleKeys = (name: string) =>
      Object.keys((examples.find((o) => o.metadata.name === name)?.stringData as Obj | undefined) ?? {});
    const workloads = [
      ...deployments.map((d) => ({ name: d.metadata.name, pod: d.spec.template.spec })),
      ...parseDocs(join(k8sDir, 'rescore/job.yaml')).map((j) => ({
        name: j.metadata.name,
        pod: (j.spec as Deployment['spec']).template.spec,
      })),
    ];
    for (const { name, pod } of workloads) {
      const c = pod.containers[0]!;
      const env = { ...sharedEnv, ...envOf(c) };
      for (const variable of CA_VARIABLES) {
        const file = env[variable];
        expect(file, `${name}: ${variable}`).toBeTruthy();
        // Mounted from a Secret with that key (the Secret itself is made out of band).
        const mount = c.volumeMounts?.find((m) => file!.startsWith(`${m.mountPath}/`));
        expect(mount, `${name}: nothing mounted at ${dirname(file!)}`).toBeDefined();
        const volume = pod.volumes?.find((v) => v.name === mount!.name);
        const secret = volume?.secret;
        expect(secret?.secretName, `${name}: ${variable} is not from a Secret`).toBeTruthy();
        const key = basename(file!);
        expect(secret!.items?.some((i) => i.key === key && i.path === key) ?? true, name).toBe(true);
        expect(exampleKeys(secret!.secretName), `secret.example.yaml: ${secret!.secretName}`).toContain(key);
      }
      const refs = secretRefs(c).map((e) => e.name);
      expect(refs, name).toContain('KAFKA_SASL_PASSWORD');
      if (usesRedis(name)) expect(refs, name).toContain('REDIS_PASSWORD');
    }
    expect(secretRefs(deploymentOf('lead-api').c).map((e) => e.name)).toContain('API_KEY_HASHES');
    expect(exampleKeys('lead-scorer-secrets')).toEqual(
      expect.arrayContaining(['KAFKA_SASL_PASSWORD', 'REDIS_PASSWORD']),
    );
  });

  it('runs the archiver as one writer on its own persistent volume, mounted where ARCHIVE_DIR points', () => {
    const { d, c } = deploymentOf('archiver');
    const set = d as StatefulSet;
    expect(set.kind).toBe('StatefulSet');
    expect(set.spec.replicas, 'one writer per archive directory').toBe(1);
    const governing = resources.find(
      (r) => r.o.kind === 'Service' && r.o.metadata.name === set.spec.serviceName,
    );
    expect(governing, `the governing Service ${set.spec.serviceName}`).toBeDefined();
    const claim = set.spec.volumeClaimTemplates?.find((t) =>
      c.volumeMounts?.some((m) => m.name === t.metadata.name),
    );
    expect(claim?.spec.accessModes).toEqual(['ReadWriteOnce']);
    const mount = c.volumeMounts?.find((m) => m.name === claim?.metadata.name);
    expect(mount?.mountPath).toBe(envOf(c).ARCHIVE_DIR);
    // The volume is writable by the non-root user: its group owns the files.
    const pod = set.spec.template.spec as PodSpec & { securityContext?: { fsGroup?: number } };
    expect(pod.securityContext?.fsGroup).toBe(pod.securityContext?.runAsUser ?? 1000);
  });

  it.skipIf(!kubectl)('builds with kubectl kustomize: hashed ConfigMaps wired into every Deployment', () => {
    const r = run('kubectl', ['kustomize', k8sDir]);
    expect(r.status, r.out).toBe(0);
    const built = parseAllDocuments(r.out).map((d) => d.toJS() as K8sObject);
    const model = built.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('lead-scorer-model-'),
    );
    const env = built.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('lead-scorer-env-'));
    expect((model?.data as Record<string, string> | undefined)?.['model.yaml']).toBe(
      readFileSync(join(root, 'models/default.yaml'), 'utf8'),
    );
    for (const o of built) {
      if (o.kind !== 'Namespace')
        expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('lead-scorer');
      if (!WORKLOADS.includes(o.kind)) continue;
      const pod = (o as Deployment).spec.template.spec;
      expect(pod.containers[0]?.envFrom?.[0]?.configMapRef?.name).toBe(env?.metadata.name);
      const vol = pod.volumes?.find((v) => v.name === 'model');
      if (vol) expect(vol.configMap?.name).toBe(model?.metadata.name);
    }
    const mon = run('kubectl', ['kustomize', join(k8sDir, 'monitoring')]);
    expect(mon.status, mon.out).toBe(0);
  });
});

// =============================================================================================

const alertsFile = join(promDir, 'alerts.yml');
const alerts = parse(readFileSync(alertsFile, 'utf8')) as RuleFile;
const readme = existsSync(join(root, 'deploy/README.md'))
  ? readFileSync(join(root, 'deploy/README.md'), 'utf8')
  : '';

describe('deploy/prometheus', () => {
  const rules = alerts.groups.flatMap((g) => g.rules);

  it('alert rules have for, a severity, a summary, a description and a runbook in deploy/README.md', () => {
    expect(rules.length).toBeGreaterThan(0);
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size, 'alert names are unique').toBe(names.length);
    const headings = new Set(
      [...readme.matchAll(/^#+\s+(.+)$/gm)].map((m) =>
        m[1]!
          .trim()
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, ''),
      ),
    );
    for (const r of rules) {
      expect(r.alert, `recording rules do not belong in alerts.yml: ${r.record}`).toBeTruthy();
      expect(r.for, `${r.alert}: for`).toMatch(/^\d+[smhd]$/);
      expect(['critical', 'warning', 'info'], `${r.alert}: severity`).toContain(r.labels?.severity);
      expect(r.annotations?.summary, `${r.alert}: summary`).toBeTruthy();
      expect(r.annotations?.description, `${r.alert}: description`).toBeTruthy();
      expect(r.annotations?.runbook, `${r.alert}: runbook`).toBe(
        `deploy/README.md#${r.alert!.toLowerCase()}`,
      );
      expect(headings.has(r.alert!.toLowerCase()), `deploy/README.md has no "${r.alert}" section`).toBe(true);
    }
  });

  it('alerts cover lag, dead letters, outbox, silence, retries, latency, Redis, up and the scheduler', () => {
    const exprs = rules.map((r) => r.expr).join('\n');
    for (const m of [
      'leadscorer_consumer_lag',
      'leadscorer_events_dead_lettered_total',
      'leadscorer_outbox_depth',
      'leadscorer_events_consumed_total',
      'leadscorer_transient_retries_total',
      'leadscorer_event_to_stage_change_published_seconds_bucket',
      'leadscorer_redis_script_seconds_bucket',
      'up',
    ])
      expect(
        rules.flatMap((r) => metricNames(r.expr)),
        m,
      ).toContain(m);
    expect(exprs).toContain('service="fading-leads"');
  });

  it('alerts query only metrics the services export', () => {
    for (const r of rules) {
      for (const name of metricNames(r.expr))
        expect(knownMetrics.has(name), `${r.alert} queries unknown metric ${name}`).toBe(true);
    }
  });

  it('the PromQL metric-name extractor skips functions, labels, keywords and durations', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le) (rate(a_bucket{x="y(z)"}[5m]))) > 1e3 and b unless c offset 1h or vector(0)',
      ).sort(),
    ).toEqual(['a_bucket', 'b', 'c']);
  });

  it('prometheus.yml loads alerts.yml and scrapes every service as job lead-scorer', () => {
    const cfg = parse(readFileSync(join(promDir, 'prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; honor_labels?: boolean; static_configs: { targets: string[] }[] }[];
    };
    expect(cfg.rule_files.map((f) => join(promDir, f))).toContain(alertsFile);
    const job = cfg.scrape_configs.find((j) => j.job_name === 'lead-scorer');
    const targets = job?.static_configs.flatMap((s) => s.targets) ?? [];
    for (const s of services) expect(targets, s).toContain(`${s}:${defaultPort(s)}`);
    expect(job?.honor_labels).toBe(true);

    const k8s = parse(readFileSync(join(promDir, 'prometheus-kubernetes.yml'), 'utf8')) as typeof cfg;
    expect(k8s.rule_files.map((f) => join(promDir, f))).toContain(alertsFile);
    expect(k8s.scrape_configs.map((j) => j.job_name)).toContain('lead-scorer');
  });

  it('the Prometheus Operator copies (PrometheusRule, PodMonitor) match', () => {
    const monitoring = join(k8sDir, 'monitoring');
    const rule = parseDocs(join(monitoring, 'prometheusrule.yaml'))[0]!;
    expect(rule.kind).toBe('PrometheusRule');
    expect(rule.spec?.groups, 'prometheusrule.yaml is out of date with alerts.yml').toEqual(alerts.groups);
    const pm = parseDocs(join(monitoring, 'podmonitor.yaml'))[0]!;
    expect(pm.kind).toBe('PodMonitor');
    const endpoints = pm.spec?.podMetricsEndpoints as { port: string }[];
    expect(endpoints.map((e) => e.port)).toEqual(['metrics']);
  });

  // promtool test rules evaluates a simulated day of samples: several seconds.
  it.skipIf(!promtool)(
    'promtool check rules, check config and the alert unit tests pass',
    { timeout: 120_000 },
    () => {
      const rulesCheck = run('promtool', ['check', 'rules', 'deploy/prometheus/alerts.yml']);
      expect(rulesCheck.status, rulesCheck.out).toBe(0);
      const configCheck = run('promtool', ['check', 'config', 'deploy/prometheus/prometheus.yml']);
      expect(configCheck.status, configCheck.out).toBe(0);

      // As shipped: the unit tests compare labels, timing and rendered annotations.
      const unit = run('promtool', ['test', 'rules', 'deploy/prometheus/alerts.test.yml']);
      expect(unit.status, unit.out).toBe(0);
    },
  );
});

// =============================================================================================

describe('deploy/grafana', () => {
  const dashboard = JSON.parse(
    readFileSync(join(root, 'deploy/grafana/dashboard.json'), 'utf8'),
  ) as Dashboard;
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
  const DS_VARIABLE = ['$', '{DS_PROMETHEUS}'].join('');
  const dsOk = (uid: string | undefined) => uid === DS_VARIABLE || uid === 'prometheus';

  it('the dashboard has a Prometheus datasource variable and every panel a query', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.uid).toBeTruthy();
    expect(dashboard.templating.list.find((v) => v.name === 'DS_PROMETHEUS')?.type).toBe('datasource');
    const ids = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).map((p) => p.id);
    expect(new Set(ids).size, 'panel ids are unique').toBe(ids.length);
    expect(panels.length).toBeGreaterThan(0);
    for (const p of panels) {
      expect(p.targets?.length ?? 0, `panel "${p.title}" has no target`).toBeGreaterThan(0);
      expect(dsOk(p.datasource?.uid), `panel "${p.title}" datasource`).toBe(true);
      for (const t of p.targets ?? []) {
        expect(t.expr, `panel "${p.title}"`).toBeTruthy();
        expect(dsOk(t.datasource?.uid ?? p.datasource?.uid), `panel "${p.title}" target datasource`).toBe(
          true,
        );
      }
    }
  });

  it('the dashboard covers what SREs watch', () => {
    const used = new Set(panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNames(t.expr ?? ''))));
    for (const m of [
      'leadscorer_events_consumed_total',
      'leadscorer_events_applied_total',
      'leadscorer_events_deduplicated_total',
      'leadscorer_events_filtered_total',
      'leadscorer_events_dead_lettered_total',
      'leadscorer_consumer_lag',
      'leadscorer_event_to_applied_seconds_bucket',
      'leadscorer_event_to_stage_change_published_seconds_bucket',
      'leadscorer_redis_script_seconds_bucket',
      'leadscorer_stage_transitions_total',
      'leadscorer_outbox_depth',
      'leadscorer_rule_hits_total',
      'process_resident_memory_bytes',
      'process_cpu_seconds_total',
      'http_server_requests_total',
      'http_server_request_duration_seconds_bucket',
    ])
      expect(used, m).toContain(m);
  });

  it('the dashboard queries only metrics the services export', () => {
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        for (const name of metricNames(t.expr ?? ''))
          expect(knownMetrics.has(name), `panel "${p.title}" queries unknown metric ${name}`).toBe(true);
      }
    }
    for (const v of dashboard.templating.list) {
      const q = typeof v.query === 'string' ? v.query : v.query?.query;
      const m = /label_values\(\s*([a-zA-Z_:][\w:]*)/.exec(q ?? '');
      if (m) expect(knownMetrics.has(m[1]!), `variable ${v.name} queries unknown metric ${m[1]}`).toBe(true);
    }
  });

  it('the provisioning files point Grafana at Prometheus and at the dashboard', () => {
    const prov = join(root, 'deploy/grafana/provisioning');
    const ds = parse(readFileSync(join(prov, 'datasources/prometheus.yml'), 'utf8')) as {
      datasources: { uid: string; type: string; url: string }[];
    };
    expect(ds.datasources).toEqual([expect.objectContaining({ uid: 'prometheus', type: 'prometheus' })]);
    const dash = parse(readFileSync(join(prov, 'dashboards/lead-scorer.yml'), 'utf8')) as {
      providers: { type: string; options: { path: string } }[];
    };
    expect(dash.providers[0]?.type).toBe('file');
    expect(dash.providers[0]?.options.path).toMatch(/^\//);
  });
});
