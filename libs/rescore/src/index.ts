export { CatchUp, type Position } from './catch-up.ts';
export { type RescoreLock, readLock } from './lock.ts';
export { abortRescore, type RescoreOptions, type RescoreReport, rescore } from './rescore.ts';
