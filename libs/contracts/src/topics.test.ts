import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './codegen/generate.ts';
import { createCatalogue, INPUT_TOPICS } from './topics.ts';

describe('topic catalogue', () => {
  const catalogue = createCatalogue();

  it('names the binding topics, each with a major version', () => {
    expect(catalogue.topics.map((t) => t.topic)).toEqual([
      'engagement.web-visit.v1',
      'engagement.email.v1',
      'product.trial-activity.v1',
      'lead.profile.v1',
      'sales.qualification.v1',
      'lead.outcome.v1',
      'lead.stage-changed.v1',
      'lead.stage.v1',
      'lead.erasure-requests.v1',
    ]);
    for (const t of catalogue.topics) expect(t.topic).toMatch(/\.v\d+$/);
  });

  it('gives every input a dead-letter topic <input>.dlq and the output none', () => {
    for (const name of INPUT_TOPICS) expect(catalogue.get(name).deadLetterTopic).toBe(`${name}.dlq`);
    expect(catalogue.get('lead.stage-changed.v1').deadLetterTopic).toBeNull();
    expect(catalogue.byDeadLetterTopic('lead.profile.v1.dlq')?.name).toBe('lead.profile.v1');
  });

  it('keeps the control topic apart: dead-lettered, but neither an input (archived, replayed) nor an output', () => {
    const control = catalogue.get('lead.erasure-requests.v1');
    expect(control.deadLetterTopic).toBe('lead.erasure-requests.v1.dlq');
    expect(catalogue.controls.map((t) => t.name)).toEqual(['lead.erasure-requests.v1']);
    expect(catalogue.inputs.map((t) => t.name)).not.toContain('lead.erasure-requests.v1');
  });

  it('uses the subject <topic>-value', () => {
    expect(catalogue.get('engagement.email.v1').subject).toBe('engagement.email.v1-value');
  });

  it('has a schema file for every topic whose record is named in its doc', () => {
    for (const t of catalogue.topics) {
      const path = join(REPO_ROOT, 'schemas', t.schemaFile);
      expect(existsSync(path)).toBe(true);
      expect(String(JSON.parse(readFileSync(path, 'utf8')).doc)).toContain(t.name);
    }
  });

  it('produces a spec per topic and dead-letter topic with cleanup and retention', () => {
    const specs = catalogue.specs();
    expect(specs).toHaveLength(16);
    expect(specs.find((s) => s.topic === 'engagement.web-visit.v1')).toEqual({
      topic: 'engagement.web-visit.v1',
      partitions: 6,
      replicationFactor: -1,
      config: { 'cleanup.policy': 'delete', 'retention.ms': String(30 * 86_400_000) },
    });
    expect(specs.find((s) => s.topic === 'lead.profile.v1')?.config).toEqual({ 'cleanup.policy': 'compact' });
    expect(specs.find((s) => s.topic === 'lead.profile.v1.dlq')).toMatchObject({
      partitions: 1,
      config: { 'cleanup.policy': 'delete' },
    });
  });

  it('applies an environment prefix and partition override, dead letters keeping one partition', () => {
    const test = createCatalogue({ prefix: 'it-1.', partitions: 2, replicationFactor: 1 });
    expect(test.get('engagement.web-visit.v1')).toMatchObject({
      topic: 'it-1.engagement.web-visit.v1',
      subject: 'it-1.engagement.web-visit.v1-value',
      deadLetterTopic: 'it-1.engagement.web-visit.v1.dlq',
      partitions: 2,
    });
    expect(test.byTopic('it-1.lead.outcome.v1')?.name).toBe('lead.outcome.v1');
    expect(test.byTopic('lead.outcome.v1')).toBeUndefined();
    expect(
      test
        .specs()
        .filter((s) => s.topic.endsWith('.dlq'))
        .every((s) => s.partitions === 1),
    ).toBe(true);
    expect(test.specs().every((s) => s.replicationFactor === 1)).toBe(true);
  });

  it('refuses a prefix Kafka would refuse and a bad partition count', () => {
    expect(() => createCatalogue({ prefix: 'a/b' })).toThrow(/characters Kafka refuses/);
    expect(() => createCatalogue({ partitions: 0 })).toThrow(/positive integer/);
  });
});
