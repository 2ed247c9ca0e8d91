/**
 * A circuit breaker per subscriber, in this process. Closed: deliveries flow. After `failures`
 * consecutive attempts that found the receiver down (connection refused or dropped, timeout, 5xx)
 * it opens: no job is even claimed, so an outage burns no attempts of the queued events, only
 * time. After `cooldownMs` it is half-open: one attempt probes the receiver; success closes the
 * breaker, failure opens it for another cooldown. Pure: time comes in as `now`.
 *
 * Written here rather than taken from a library (cockatiel, opossum): those wrap a call and refuse
 * it when open, but by then the deliverer would have claimed the job and counted an attempt. This
 * one answers the question the deliverer asks before claiming: how many may I start now?
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export class Breaker {
  private readonly failures: number;
  private readonly cooldownMs: number;
  private consecutive = 0;
  private openedAt: number | null = null;
  private probing = false;

  constructor(opts: { failures: number; cooldownMs: number }) {
    this.failures = opts.failures;
    this.cooldownMs = opts.cooldownMs;
  }

  state(now: number): BreakerState {
    if (this.openedAt === null) return 'closed';
    return now - this.openedAt >= this.cooldownMs ? 'half-open' : 'open';
  }

  /** How many attempts may start now, given `inFlight` already running and a wish of `want`. */
  permits(now: number, inFlight: number, want: number): number {
    const s = this.state(now);
    if (s === 'closed') return Math.max(0, want - inFlight);
    if (s === 'open' || this.probing || inFlight > 0) return 0;
    return Math.min(1, want);
  }

  /** Marks the start of the half-open probe (call after permits() allowed one). */
  started(now: number): void {
    if (this.state(now) === 'half-open') this.probing = true;
  }

  /** When an open breaker lets the next probe through (for sleeping until then). */
  reopensAt(): number | null {
    return this.openedAt === null ? null : this.openedAt + this.cooldownMs;
  }

  /** Records an attempt's effect on the receiver's health: `up` = it answered properly. */
  record(now: number, up: boolean): void {
    const wasProbe = this.probing;
    this.probing = false;
    if (up) {
      this.consecutive = 0;
      this.openedAt = null;
      return;
    }
    this.consecutive++;
    if (wasProbe || this.openedAt !== null || this.consecutive >= this.failures) this.openedAt = now;
  }
}
