/**
 * @leadscorer/replay: history through the engine in process. Reads the archive (libs/archive)
 * and, optionally, what the topics hold beyond it; merges every input partition into one order;
 * applies each event to its lead as the live services do; hands an evaluation every event and
 * outcome with the lead as it is then, and a rescoring the final records and the Kafka positions
 * to resume from. docs/archive.md describes the choices.
 */
export type { Position } from '@leadscorer/archive';
export type { EventStep, OutcomeStep, ReplayObserver } from './observer.ts';
export {
  type FetchedTail,
  fetchTail,
  type ReplayOptions,
  type ReplayResult,
  type ReplayStats,
  replay,
} from './replay.ts';
export type { Gap, TopicSource } from './tail.ts';
