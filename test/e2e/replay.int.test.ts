import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listArchive } from '@leadscorer/archive';
import { loadModel } from '@leadscorer/engine';
import { type ReplayResult, replay } from '@leadscorer/replay';
import type { RunningService } from '@leadscorer/runtime';
import { type ScoringService, startConsumerService } from '@leadscorer/scoring-service';
import { afterAll, describe, expect, it } from 'vitest';
import { startArchiver } from '../../services/archiver/src/service.ts';
import {
  archiveReaches,
  eventMessage,
  outcomeMessage,
  produceMessages,
  topicEnds,
} from '../support/archive.ts';
import { expectSameRecords } from '../support/compare.ts';
import { generateEvents } from '../support/event-gen.ts';
import { testInfra } from '../support/infra.ts';
import { eventually, MODEL_FILE, type ScorerEnv, scorerEnv, waitForDrained } from '../support/scorer.ts';

const model = loadModel(readFileSync(MODEL_FILE, 'utf8'), MODEL_FILE);
const NOW = Date.UTC(2026, 10, 20, 12);
const DAY = 86_400_000;

const SERVICES = [
  { service: 'web-visits', topics: ['engagement.web-visit.v1'] },
  { service: 'email-engagement', topics: ['engagement.email.v1'] },
  { service: 'trial-activity', topics: ['product.trial-activity.v1'] },
  { service: 'lead-context', topics: ['lead.profile.v1', 'sales.qualification.v1'] },
] as const;

/**
 * Replay equals live: the four scoring services and the archiver consume the same traffic at
 * once; the replay of the archive (and, the second time, of the topics beyond a partial archive)
 * must end in the states the services stored in Redis. The services run on a fixed clock and the
 * replay applies every event at that same time, so the comparison is the order-independent one of
 * test/e2e/scoring.int.test.ts (positive rules only, adjacent duplicates: see docs/model.md on
 * order), plus what only a replay must also get right: every offset watermark, exactly.
 */
describe('replay equals live', () => {
  const running: RunningService[] = [];
  const dirs: string[] = [];
  let env: ScorerEnv | undefined;
  afterAll(async () => {
    await Promise.all(running.map((s) => s.stop()));
    await env?.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('the archive replayed (and a partial archive with the topics) ends in the states the services stored', async () => {
    env = await scorerEnv('replay-live', 3);
    const e = env;
    const dir = mkdtempSync(join(tmpdir(), 'leadscorer-replay-live-'));
    dirs.push(dir);
    const generated = generateEvents({
      seed: 43,
      leads: 150,
      events: 4000,
      start: NOW - DAY,
      stepMs: 1,
      maxLagMs: 6 * DAY,
      duplicateRate: 0.05,
      adjacentDuplicates: true,
      positiveOnly: true,
      leadPrefix: 'rl',
    });
    const messages = generated.map((g) => eventMessage(g.event, g.arrival));
    for (let i = 0; i < 50; i++)
      messages.push(outcomeMessage(`rl-o-${i}`, `rl-${i}`, NOW - DAY + i, i % 3 === 0));
    await produceMessages(e.contracts.kafka, e.contracts.catalogue, messages);

    const archiver = await startArchiver(
      e.env({
        ARCHIVE_DIR: dir,
        CONSUMER_GROUP: e.contracts.group(`${e.contracts.prefix}archiver`),
        ARCHIVE_FLUSH_RECORDS: '300',
        ARCHIVE_FLUSH_INTERVAL_MS: '500',
      }),
      (err) => {
        throw err;
      },
      0,
    );
    running.push(archiver);
    const groups: { groupId: string; topics: string[] }[] = [];
    const services: ScoringService[] = [];
    for (const s of SERVICES) {
      const groupId = e.contracts.group(`${e.contracts.prefix}${s.service}`);
      groups.push({ groupId, topics: s.topics.map((t) => e.contracts.catalogue.get(t).topic) });
      services.push(
        await startConsumerService(
          {
            service: s.service,
            defaultPort: 0,
            topics: [...s.topics],
            onFatal: (err) => expect(err).toBeUndefined(),
          },
          e.env({ CLOCK_FIXED_MS: String(NOW), CONSUMER_GROUP: groupId }),
        ),
      );
    }
    running.push(...services);
    await waitForDrained(e.contracts.kafka, groups);
    const ends = await topicEnds(e.contracts.kafka, e.contracts.catalogue);
    await eventually(
      'the archive to reach the end of every partition',
      async () => archiveReaches(dir, ends),
      60_000,
    );

    const leads = [...new Set(generated.map((g) => g.event.leadId))];
    const live = await e.records(leads, model);
    expect(live.size).toBeGreaterThan(100);

    const fromArchive = await replay({ model, catalogue: e.contracts.catalogue, archiveDir: dir, now: NOW });
    expect(fromArchive.stats.outcomes).toBe(50);
    expectSameRecords(fromArchive.records, live, model, NOW);
    expect(positions(fromArchive)).toEqual(ends);

    // Half of each partition's files, the rest read from the topics: the same states again.
    const partial = mkdtempSync(join(tmpdir(), 'leadscorer-replay-partial-'));
    dirs.push(partial);
    let kept = 0;
    for (const [, byPartition] of listArchive(dir)) {
      for (const files of byPartition.values()) {
        for (const f of files.slice(0, Math.ceil(files.length / 2))) {
          cpSync(f.path, join(partial, f.path.slice(dir.length)));
          kept++;
        }
      }
    }
    expect(kept).toBeGreaterThan(10);
    const withTopics = await replay({
      model,
      catalogue: e.contracts.catalogue,
      archiveDir: partial,
      now: NOW,
      topics: { kafka: e.contracts.kafka, registryUrl: testInfra().registryUrl },
    });
    const total = fromArchive.stats.events + fromArchive.stats.outcomes;
    expect(withTopics.stats.events + withTopics.stats.outcomes).toBe(total);
    expect(withTopics.stats.fromTopics).toBeGreaterThan(total / 5);
    expect(withTopics.gaps).toEqual([]);
    expectSameRecords(withTopics.records, live, model, NOW);
    expect(positions(withTopics)).toEqual(ends);
  });
});

function positions(r: ReplayResult): Map<string, number> {
  return new Map(r.positions.map((p) => [`${p.topic}/${p.partition}`, p.offset]));
}
