// Live view: a connection through sdk-js, authorised by the admin session (a
// token from POST /admin/api/projects/{p}/tokens whose `channels` are the
// watched ones: server-side subscriptions), showing every publication, join and
// leave as it arrives. Pause holds new events, filter narrows the list, clear empties it.
import { useEffect, useRef, useState } from 'preact/hooks';
import { Centrifuge } from '../../../../sdk-js/src/index';
import { enc, post, type Project } from '../api';
import { Button, Empty, ErrorBox, Field, errorText, useAction } from '../ui';

const MAX_EVENTS = 500;
const LIVE_USER = 'admin-live-view';

interface LiveEvent {
  seq: number;
  at: Date;
  kind: 'publication' | 'join' | 'leave';
  channel: string;
  body: unknown;
}

let seq = 0;

/** One line when short, indented otherwise. */
function compact(v: unknown) {
  const line = JSON.stringify(v);
  return line.length <= 100 ? line : JSON.stringify(v, null, 2);
}

export function Live({ project }: { project: Project }) {
  const [input, setInput] = useState('');
  const [watched, setWatched] = useState<string[]>([]);
  const [state, setState] = useState('disconnected');
  const [error, setError] = useState<unknown>(null);
  const [events, setEvents] = useState<LiveEvent[]>([]);
  const [held, setHeld] = useState<LiveEvent[]>([]);
  const [paused, setPaused] = useState(false);
  const [filter, setFilter] = useState('');
  const [inputError, setInputError] = useState('');
  const pausedRef = useRef(false);
  pausedRef.current = paused;

  useEffect(() => {
    if (!watched.length) return;
    const getToken = async () => {
      try {
        const r = await post<{ token: string }>(`/projects/${enc(project.name)}/tokens`, { user: LIVE_USER, channels: watched, ttl_seconds: 3600 });
        return r.token;
      } catch (e) {
        setError(e);
        throw e;
      }
    };
    // WebSocket, then HTTP-streaming and SSE (a proxy without WebSocket upgrades).
    const client = new Centrifuge({ url: location.origin, project: project.name }, { getToken });
    const add = (kind: LiveEvent['kind'], channel: string, body: unknown) => {
      const ev: LiveEvent = { seq: ++seq, at: new Date(), kind, channel, body };
      if (pausedRef.current) setHeld((h) => [ev, ...h].slice(0, MAX_EVENTS));
      else setEvents((list) => [ev, ...list].slice(0, MAX_EVENTS));
    };
    client.on('state', (ctx) => setState(ctx.newState));
    client.on('connected', () => setError(null));
    client.on('disconnected', (ctx) => {
      if (ctx.code !== 0) setError(new Error(`disconnected: ${ctx.reason} (${ctx.code})`));
    });
    client.on('error', (ctx) => setError(new Error(errorText(ctx.error))));
    client.on('publication', (ctx) => add('publication', ctx.channel, { data: ctx.data, info: ctx.info, offset: ctx.offset }));
    client.on('join', (ctx) => add('join', ctx.channel, ctx.info));
    client.on('leave', (ctx) => add('leave', ctx.channel, ctx.info));
    client.connect();
    return () => {
      client.disconnect();
      setState('disconnected');
    };
  }, [watched.join('\n'), project.name]);

  // Active channels of the project, the ones whose options have `watch` on first.
  const active = useAction(async () => {
    const r = await post<{ result?: { channels?: Record<string, unknown> } }>(`/projects/${enc(project.name)}/api/channels`, {});
    const names = Object.keys(r.result?.channels || {}).sort();
    const watchOn = (ch: string) => {
      const i = ch.indexOf(':');
      const ns = i > 0 ? (project.namespaces || []).find((n) => n.name === ch.slice(0, i)) : undefined;
      return Boolean((ns ? ns.options : project.options)?.watch);
    };
    const marked = names.filter(watchOn);
    const list = marked.length ? marked : names;
    const have = input.split(/[,\s]+/).filter(Boolean);
    const merged = [...new Set([...have, ...list])];
    setInput(merged.join(', '));
    setInputError(list.length ? '' : 'No channel has subscribers right now.');
    return list;
  });
  const watch = (e: Event) => {
    e.preventDefault();
    const list = [...new Set(input.split(/[,\s]+/).map((c) => c.trim()).filter(Boolean))];
    if (!list.length) {
      setInputError('Name at least one channel.');
      return;
    }
    setInputError('');
    setError(null);
    setWatched(list);
  };
  const resume = () => {
    setEvents((list) => [...held, ...list].slice(0, MAX_EVENTS));
    setHeld([]);
    setPaused(false);
  };
  const f = filter.trim().toLowerCase();
  const shown = f ? events.filter((ev) => `${ev.kind} ${ev.channel} ${JSON.stringify(ev.body)}`.toLowerCase().includes(f)) : events;
  const connecting = watched.length > 0 && state !== 'connected';
  return (
    <>
      <form class="card form" onSubmit={watch} aria-labelledby="live-title">
        <h2 id="live-title">Live view</h2>
        <Field id="live-channels" label="Channels to watch" help="Comma-separated. Joins and leaves show for channels with join_leave on. Add active channels adds the channels with subscribers now (only those with the watch option, when some have it)." error={inputError}>
          <input id="live-channels" value={input} onInput={(e) => setInput(e.currentTarget.value)} placeholder="news, chat:lobby" autocomplete="off" spellcheck={false} />
        </Field>
        <div class="row wrap">
          <Button onClick={() => active.run()} busy={active.busy} title="Channels with subscribers now; those with the watch option when there are some">
            Add active channels
          </Button>
          <Button type="submit" kind="primary" busy={connecting && !error}>
            {watched.length ? 'Watch these channels' : 'Watch'}
          </Button>
          {watched.length > 0 && (
            <Button
              onClick={() => {
                setWatched([]);
                setError(null);
              }}
            >
              Stop watching
            </Button>
          )}
          <span class={`state state-${state}`} role="status" data-state={state}>
            {watched.length ? `${state}: ${watched.join(', ')}` : 'not watching'}
          </span>
        </div>
        <ErrorBox error={error || active.error} />
      </form>
      <section class="card" aria-labelledby="events-title">
        <div class="row between wrap">
          <h2 id="events-title">Events</h2>
          <div class="row wrap events-tools">
            <label class="sr-only" for="live-filter">
              Filter events
            </label>
            <input id="live-filter" type="search" placeholder="Filter" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
            {paused ? (
              <Button onClick={resume} kind="primary">
                Resume{held.length ? ` (${held.length} new)` : ''}
              </Button>
            ) : (
              <Button onClick={() => setPaused(true)} aria-pressed="false">
                Pause
              </Button>
            )}
            <Button
              onClick={() => {
                setEvents([]);
                setHeld([]);
              }}
              disabled={!events.length && !held.length}
            >
              Clear
            </Button>
          </div>
        </div>
        {shown.length === 0 ? (
          <Empty>{events.length ? 'No event matches the filter.' : watched.length ? 'Waiting for publications, joins and leaves…' : 'Name channels above and watch them.'}</Empty>
        ) : (
          <ol class="events" aria-live={paused ? 'off' : 'polite'}>
            {shown.map((ev) => (
              <li key={ev.seq} class={`event event-${ev.kind}`} data-kind={ev.kind} data-channel={ev.channel}>
                <div class="event-head">
                  <span class="badge">{ev.kind}</span> <code>{ev.channel}</code> <time class="muted small">{ev.at.toLocaleTimeString()}</time>
                </div>
                <pre class="json">{compact(ev.body)}</pre>
              </li>
            ))}
          </ol>
        )}
      </section>
    </>
  );
}
