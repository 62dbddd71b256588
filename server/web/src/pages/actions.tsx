// The server API of a project, through POST /admin/api/projects/{p}/api/{method}.
import { useState } from 'preact/hooks';
import { ApiError, enc, post, type Project } from '../api';
import { Button, ErrorBox, Field, Json, useAction } from '../ui';

type Kind = 'text' | 'list' | 'json' | 'int' | 'bool';
interface Param {
  name: string;
  kind: Kind;
  label: string;
  help?: string;
  required?: boolean;
}

const channel: Param = { name: 'channel', kind: 'text', label: 'Channel', required: true };
const data: Param = { name: 'data', kind: 'json', label: 'Data (JSON)', required: true, help: 'Any JSON, passed to subscribers untouched.' };
const user: Param = { name: 'user', kind: 'text', label: 'User ID', required: true };
const client: Param = { name: 'client', kind: 'text', label: 'Client ID (optional)', help: 'Only this connection of the user.' };

const METHODS: Record<string, { label: string; help: string; params: Param[] }> = {
  publish: { label: 'Publish', help: 'Publish data into a channel.', params: [channel, data, { name: 'skip_history', kind: 'bool', label: 'Skip history' }] },
  broadcast: {
    label: 'Broadcast',
    help: 'Publish the same data into several channels.',
    params: [{ name: 'channels', kind: 'list', label: 'Channels', required: true, help: 'Comma-separated.' }, data],
  },
  presence: { label: 'Presence', help: 'Clients subscribed to a channel (presence must be on for it).', params: [channel] },
  presence_stats: { label: 'Presence stats', help: 'Numbers of clients and users in a channel.', params: [channel] },
  history: {
    label: 'History',
    help: 'Publications kept for a channel.',
    params: [channel, { name: 'limit', kind: 'int', label: 'Limit', help: '-1 for all, 0 for only the stream position.' }, { name: 'reverse', kind: 'bool', label: 'Newest first' }],
  },
  history_remove: { label: 'History remove', help: "Remove a channel's history.", params: [channel] },
  subscribe: { label: 'Subscribe', help: "Subscribe a user's connections to a channel.", params: [user, channel, client] },
  unsubscribe: { label: 'Unsubscribe', help: 'Unsubscribe a user from a channel.', params: [user, channel, client] },
  disconnect: { label: 'Disconnect', help: "Disconnect a user's connections.", params: [user, client] },
  channels: {
    label: 'Channels',
    help: 'Active channels and their numbers of subscribers.',
    params: [{ name: 'pattern', kind: 'text', label: 'Pattern (optional)', help: '* any run of characters, ? one character.' }],
  },
  info: { label: 'Info', help: 'Nodes of the cluster and their numbers.', params: [] },
};

export function Actions({ project }: { project: Project }) {
  const [method, setMethod] = useState('publish');
  const [values, setValues] = useState<Record<string, string | boolean>>({ data: '{"text": "hello"}', limit: '10' });
  const [local, setLocal] = useState<Record<string, string>>({});
  const [result, setResult] = useState<{ method: string; body: unknown; reply: unknown } | null>(null);
  const m = METHODS[method];
  const send = useAction(async () => {
    const body: Record<string, unknown> = {};
    const errs: Record<string, string> = {};
    for (const p of m.params) {
      const v = values[p.name];
      const s = typeof v === 'string' ? v.trim() : '';
      if (p.kind === 'bool') {
        if (v) body[p.name] = true;
        continue;
      }
      if (!s) {
        if (p.required) errs[p.name] = 'Required.';
        continue;
      }
      if (p.kind === 'json') {
        try {
          body[p.name] = JSON.parse(s);
        } catch {
          errs[p.name] = 'Not valid JSON.';
        }
      } else if (p.kind === 'list') {
        body[p.name] = s.split(',').map((x) => x.trim()).filter(Boolean);
      } else if (p.kind === 'int') {
        if (!/^-?\d+$/.test(s)) errs[p.name] = 'A whole number.';
        else body[p.name] = Number(s);
      } else body[p.name] = s;
    }
    setLocal(errs);
    if (Object.keys(errs).length) return undefined;
    const reply = await post(`/projects/${enc(project.name)}/api/${method}`, body);
    setResult({ method, body, reply });
    return reply;
  });
  const err = send.error instanceof ApiError ? send.error : null;
  const fieldErr = (n: string) => local[n] || (err && err.field === n ? err.message : '');
  const set = (n: string, v: string | boolean) => setValues({ ...values, [n]: v });
  return (
    <div class="split">
      <form
        class="card form"
        aria-labelledby="actions-title"
        onSubmit={(e) => {
          e.preventDefault();
          send.run();
        }}
      >
        <h2 id="actions-title">Server API</h2>
        <Field id="act-method" label="Method">
          <select
            id="act-method"
            value={method}
            onChange={(e) => {
              setMethod(e.currentTarget.value);
              setLocal({});
              send.setError(null);
            }}
          >
            {Object.entries(METHODS).map(([k, v]) => (
              <option key={k} value={k}>
                {v.label}
              </option>
            ))}
          </select>
        </Field>
        <p class="help">{m.help}</p>
        <div class="fields">
          {m.params.map((p) => {
            const id = `act-${p.name}`;
            const v = values[p.name];
            if (p.kind === 'bool') {
              return (
                <div class="field check" key={p.name}>
                  <label for={id}>
                    <input id={id} type="checkbox" checked={Boolean(v)} onChange={(e) => set(p.name, e.currentTarget.checked)} /> {p.label}
                  </label>
                </div>
              );
            }
            return (
              <Field key={p.name} id={id} label={p.label} help={p.help} error={fieldErr(p.name)}>
                {p.kind === 'json' ? (
                  <textarea id={id} rows={4} value={String(v ?? '')} onInput={(e) => set(p.name, e.currentTarget.value)} spellcheck={false} />
                ) : (
                  <input id={id} type={p.kind === 'int' ? 'number' : 'text'} value={String(v ?? '')} onInput={(e) => set(p.name, e.currentTarget.value)} autocomplete="off" spellcheck={false} />
                )}
              </Field>
            );
          })}
        </div>
        <ErrorBox error={err && err.field && m.params.some((p) => p.name === err.field) ? null : send.error} />
        <Button type="submit" kind="primary" busy={send.busy}>
          Send {m.label.toLowerCase()}
        </Button>
      </form>
      <section class="card" aria-labelledby="result-title" aria-live="polite">
        <h2 id="result-title">Result</h2>
        {result ? (
          <>
            <p class="muted small">
              <code>{result.method}</code> {JSON.stringify(result.body)}
            </p>
            <Json value={result.reply} label={`Result of ${result.method}`} />
          </>
        ) : (
          <p class="empty">Send a request to see its JSON result here.</p>
        )}
      </section>
    </div>
  );
}
