/** A minimal typed event emitter: event name -> context type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export class Emitter<E extends { [K in keyof E]: any }> {
  private _l: { [K in keyof E]?: Array<(ctx: E[K]) => void> } = {};

  /** Adds a listener of `event`. */
  on<K extends keyof E>(event: K, fn: (ctx: E[K]) => void): this {
    (this._l[event] ||= []).push(fn);
    return this;
  }

  /** Adds a listener called once. */
  once<K extends keyof E>(event: K, fn: (ctx: E[K]) => void): this {
    const w = (ctx: E[K]) => {
      this.off(event, w);
      fn(ctx);
    };
    return this.on(event, w);
  }

  /** Removes one listener, or every listener of `event` when fn is omitted. */
  off<K extends keyof E>(event: K, fn?: (ctx: E[K]) => void): this {
    const l = this._l[event];
    if (l) this._l[event] = fn ? l.filter((x) => x !== fn) : [];
    return this;
  }

  /** Removes every listener (of `event`, or of all events). */
  removeAllListeners(event?: keyof E): this {
    if (event === undefined) this._l = {};
    else delete this._l[event];
    return this;
  }

  /** Calls the listeners; one that throws does not stop the others nor the client (rethrown async). */
  protected _emit<K extends keyof E>(event: K, ctx: E[K]): void {
    const l = this._l[event];
    if (!l) return;
    for (const fn of l.slice()) {
      try {
        fn(ctx);
      } catch (e) {
        setTimeout(() => {
          throw e;
        });
      }
    }
  }
}
