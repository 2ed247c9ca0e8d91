/**
 * Runs `task` every `ms` until stop(), each run starting `ms` after the previous one settled (a
 * slow Redis never piles runs up); a failure goes to `onError` and the next run comes as usual.
 * The timer does not keep the process alive.
 */
export class Poll {
  private readonly ms: number;
  private readonly task: () => Promise<unknown>;
  private readonly onError: (err: unknown) => void;
  private timer: NodeJS.Timeout | undefined;

  constructor(ms: number, task: () => Promise<unknown>, onError: (err: unknown) => void) {
    this.ms = ms;
    this.task = task;
    this.onError = onError;
  }

  start(): void {
    const tick = () => {
      this.task()
        .catch(this.onError)
        .finally(() => {
          if (this.timer) this.schedule(tick);
        });
    };
    this.schedule(tick);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(tick: () => void): void {
    this.timer = setTimeout(tick, this.ms);
    this.timer.unref();
  }
}
