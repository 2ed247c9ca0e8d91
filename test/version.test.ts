import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { OPENAPI } from '../services/lead-api/src/openapi.ts';

// One version number for the whole project (see CHANGELOG.md): the root package.json is the
// source; every other place that states a version must say the same, so a release bump that
// misses one fails here instead of shipping an image tag the API documents disagree with.

const root = join(import.meta.dirname, '..');
const IMAGE = 'ghcr.io/lead-scorer/lead-scorer';
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const version = (JSON.parse(read('package.json')) as { version: string }).version;

/** Image references of our image in a YAML text, wherever they sit. */
function imageTags(text: string): string[] {
  return [...text.matchAll(new RegExp(`${IMAGE.replaceAll('.', '\\.')}:([\\w.-]+)`, 'g'))].map((m) => m[1]!);
}

describe('the project version', () => {
  it('is a semantic version', () => {
    expect(version).toMatch(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/);
  });

  it('is the version of every workspace package', () => {
    for (const dir of ['libs', 'services']) {
      for (const name of readdirSync(join(root, dir))) {
        const pkg = JSON.parse(read(`${dir}/${name}/package.json`)) as { version: string };
        expect(pkg.version, `${dir}/${name}/package.json`).toBe(version);
      }
    }
  });

  it('is the version of the OpenAPI and AsyncAPI documents', () => {
    expect(OPENAPI.info.version, 'services/lead-api/src/openapi.ts').toBe(version);
    const asyncapi = parse(read('docs/asyncapi.yaml')) as { info: { version: string } };
    expect(asyncapi.info.version, 'docs/asyncapi.yaml (npm run schemas -- codegen)').toBe(version);
  });

  it('is the tag of the container image in Kubernetes, compose and the deploy guide', () => {
    const k8s = 'deploy/kubernetes';
    const kustomization = parse(read(`${k8s}/kustomization.yaml`)) as {
      images: { name: string; newTag: string }[];
    };
    expect(kustomization.images.find((i) => i.name === IMAGE)?.newTag, `${k8s}/kustomization.yaml`).toBe(
      version,
    );
    const manifests = readdirSync(join(root, k8s)).filter((f) => f.endsWith('.yaml'));
    const tags = manifests.flatMap((f) => imageTags(read(`${k8s}/${f}`)).map((t) => [f, t] as const));
    expect(tags.length).toBeGreaterThan(0);
    for (const [file, tag] of tags) expect(tag, `${k8s}/${file}`).toBe(version);

    const compose = parseAllDocuments(read('docker-compose.yml'))[0]!.toJS({ maxAliasCount: -1 }) as {
      services: Record<string, { build?: unknown; image?: string }>;
    };
    const built = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);
    expect(built.length).toBeGreaterThan(0);
    for (const [name, s] of built) expect(s.image, `docker-compose.yml ${name}`).toBe(`${IMAGE}:${version}`);

    const guide = imageTags(read('deploy/README.md'));
    expect(guide.length).toBeGreaterThan(0);
    for (const tag of guide) expect(tag, 'deploy/README.md').toBe(version);
  });
});
