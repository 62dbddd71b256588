// A fake WebSocket for driving the client in Node: the test plays the server.
export class FakeWS {
  static all: FakeWS[] = [];
  static refuse = 0; // the next n sockets close (1006) before opening
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  sent: string[] = [];
  closed = false;

  constructor(readonly url: string) {
    FakeWS.all.push(this);
    const refuse = FakeWS.refuse > 0 && FakeWS.refuse--;
    setTimeout(() => (refuse ? this.serverClose(1006, '') : this.onopen && this.onopen()), 0);
  }

  send(s: string) {
    this.sent.push(...s.split('\n'));
  }

  close() {
    this.closed = true;
  }

  /** Commands sent so far, parsed. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  cmds(): any[] {
    return this.sent.map((s) => JSON.parse(s));
  }

  /** Delivers a frame of several objects. */
  push(...objs: object[]) {
    this.onmessage && this.onmessage({ data: objs.map((o) => JSON.stringify(o)).join('\n') });
  }

  serverClose(code: number, reason: string) {
    this.closed = true;
    this.onclose && this.onclose({ code, reason });
  }

  static last(): FakeWS {
    return FakeWS.all[FakeWS.all.length - 1]!;
  }

  static reset() {
    FakeWS.all = [];
    FakeWS.refuse = 0;
  }
}

export const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** Waits until pred() or throws after ms. */
export async function until(pred: () => boolean, what: string, ms = 2000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(2);
  }
}
