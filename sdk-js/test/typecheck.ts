import { ServerClient } from '../src/server/index';
const c = new ServerClient({ url: 'http://x', apiKey: 'k' });
async function f() {
  const r = await c.publish({ channel: 'a', data: 1 });
  const o: number = r.offset!;
  const e: string = r.epoch!;
  // @ts-expect-error wrong field
  await c.publish({ chanel: 'a', data: 1 });
  const p = await c.presence({ channel: 'x' });
  const b = await c.batch({ commands: [] });
  const n: number = b.replies.length;
  const i = await c.info();
  return [o, e, p, n, i];
}
f;
