// One project: credentials and token generator, settings, namespaces, actions, live view.
import { useState } from 'preact/hooks';
import { ApiError, del, enc, get, patch, post, type Namespace, type OptionSpec, type OptionValues, type Project } from '../api';
import { Button, ConfirmByName, Copy, Empty, ErrorBox, Field, Loading, useAction, useLoad } from '../ui';
import { OptionsForm } from './options';
import { Actions } from './actions';
import { Live } from './live';

const TABS: [string, string][] = [
  ['credentials', 'Credentials'],
  ['settings', 'Settings'],
  ['namespaces', 'Namespaces'],
  ['actions', 'Actions'],
  ['live', 'Live view'],
];

export function ProjectPage({ name, tab }: { name: string; tab: string }) {
  const project = useLoad(() => get<Project>(`/projects/${enc(name)}`), [name]);
  const p = project.data;
  const base = `/projects/${enc(name)}`;
  let body;
  if (!p) {
    body = project.error ? (
      project.error instanceof ApiError && project.error.status === 404 ? (
        <Empty>
          There is no project <code>{name}</code>. <a href="/projects">See all projects</a>.
        </Empty>
      ) : (
        <ErrorBox error={project.error} retry={project.reload} />
      )
    ) : (
      <Loading what="Loading the project" />
    );
  } else if (tab === 'credentials') {
    body = <Credentials project={p} onChange={project.set} />;
  } else if (tab === 'settings') {
    body = <Settings project={p} onChange={project.set} />;
  } else if (tab === 'namespaces') {
    body = <Namespaces project={p} onChange={project.set} reload={project.reload} />;
  } else if (tab === 'actions') {
    body = <Actions project={p} />;
  } else if (tab === 'live') {
    body = <Live project={p} />;
  } else {
    body = (
      <Empty>
        No such page. <a href={base}>Back to the project</a>.
      </Empty>
    );
  }
  return (
    <div class="page">
      <div class="page-head">
        <h1>
          <a href="/projects" class="muted">
            Projects
          </a>{' '}
          / {p?.display_name || name}
        </h1>
      </div>
      <nav class="tabs" aria-label="Project">
        {TABS.map(([id, label]) => (
          <a key={id} href={`${base}/${id}`} aria-current={tab === id ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      {body}
    </div>
  );
}

type Props = { project: Project; onChange: (p: Project) => void };

function Secret({ label, value, id }: { label: string; value: string; id: string }) {
  const [shown, setShown] = useState(false);
  if (!value) {
    return (
      <div class="secret">
        <div class="label">{label}</div>
        <p class="help">None set (regenerate to make one).</p>
      </div>
    );
  }
  return (
    <div class="secret">
      <div class="label" id={`${id}-label`}>
        {label}
      </div>
      <div class="row">
        <code class="value" id={id} aria-labelledby={`${id}-label`} data-value={shown ? value : undefined}>
          {shown ? value : '•'.repeat(Math.min(32, value.length || 8))}
        </code>
        <Button onClick={() => setShown(!shown)} aria-controls={id} aria-pressed={shown ? 'true' : 'false'}>
          {shown ? 'Hide' : 'Show'}
        </Button>
        <Copy text={value} label={`Copy ${label.split(' (')[0].toLowerCase().replace('api', 'API')}`} />
      </div>
    </div>
  );
}

function curl(p: Project, key: string) {
  return `curl -X POST ${location.origin}/api/${p.name}/publish \\\n  -H 'X-API-Key: ${key}' -H 'Content-Type: application/json' \\\n  -d '{"channel": "news", "data": {"text": "hello"}}'`;
}

function Credentials({ project, onChange }: Props) {
  const base = `/projects/${enc(project.name)}`;
  const origin = location.origin;
  const ws = origin.replace(/^http/, 'ws');
  return (
    <>
      <section class="card" aria-labelledby="cred-title">
        <h2 id="cred-title">Credentials</h2>
        <Secret id="secret" label="Secret (signs connection and subscription tokens, HS256)" value={project.secret} />
        <Secret id="api-key" label="API key (server API: X-API-Key header)" value={project.api_key} />
        <dl class="endpoints">
          <dt>WebSocket endpoint</dt>
          <dd>
            <code>{`${ws}/connection/${project.name}/websocket`}</code>
          </dd>
          <dt>Server API</dt>
          <dd>
            <code>{`${origin}/api/${project.name}/<method>`}</code>
          </dd>
        </dl>
        <div class="curl">
          <div class="label">Publish with curl</div>
          <pre class="json">{curl(project, '<API key>')}</pre>
          <Copy text={curl(project, project.api_key)} label="Copy command with the key" />
        </div>
        <div class="row wrap">
          <ConfirmByName
            name={project.name}
            label="Regenerate secret"
            what="Every token signed with the current secret stops working."
            onConfirm={async () => onChange(await post<Project>(`${base}/regenerate-secret`))}
          />
          <ConfirmByName
            name={project.name}
            label="Regenerate API key"
            what="Every backend using the current API key is refused until it has the new one."
            onConfirm={async () => onChange(await post<Project>(`${base}/regenerate-api-key`))}
          />
        </div>
      </section>
      <TokenGenerator project={project} />
    </>
  );
}

function TokenGenerator({ project }: { project: Project }) {
  const [user, setUser] = useState('');
  const [ttl, setTtl] = useState('3600');
  const [info, setInfo] = useState('');
  const [channels, setChannels] = useState('');
  const [channel, setChannel] = useState('');
  const [token, setToken] = useState('');
  const [infoError, setInfoError] = useState('');
  const gen = useAction(async () => {
    const body: Record<string, unknown> = { user };
    if (ttl.trim()) body.ttl_seconds = Number(ttl);
    if (info.trim()) {
      try {
        body.info = JSON.parse(info);
      } catch {
        setInfoError('Info must be JSON, e.g. {"name": "Alice"}');
        return undefined;
      }
    }
    setInfoError('');
    const list = channels.split(',').map((c) => c.trim()).filter(Boolean);
    if (list.length) body.channels = list;
    if (channel.trim()) body.channel = channel.trim();
    setToken('');
    const r = await post<{ token: string }>(`/projects/${enc(project.name)}/tokens`, body);
    setToken(r.token);
    return r;
  });
  const err = gen.error instanceof ApiError ? gen.error : null;
  const fe = (f: string) => (err && err.field === f ? err.message : '');
  const fieldNames = ['user', 'ttl_seconds', 'info', 'channels', 'channel'];
  return (
    <form
      class="card form"
      aria-labelledby="token-title"
      onSubmit={(e) => {
        e.preventDefault();
        gen.run();
      }}
    >
      <h2 id="token-title">Token generator</h2>
      <p class="help">A connection token (or, with a channel, a subscription token) signed with this project's secret, for trying things.</p>
      <div class="fields">
        <Field id="tok-user" label="User ID" help='The token&apos;s "sub"; empty for an anonymous user.' error={fe('user')}>
          <input id="tok-user" value={user} onInput={(e) => setUser(e.currentTarget.value)} autocomplete="off" />
        </Field>
        <Field id="tok-ttl" label="Lifetime (seconds)" help="Empty for the default, an hour." error={fe('ttl_seconds')}>
          <input id="tok-ttl" type="number" min="1" value={ttl} onInput={(e) => setTtl(e.currentTarget.value)} />
        </Field>
        <Field id="tok-info" label="Info (JSON, optional)" help="Shown to other clients in presence, join and leave." error={infoError || fe('info')}>
          <input id="tok-info" value={info} onInput={(e) => setInfo(e.currentTarget.value)} placeholder='{"name": "Alice"}' />
        </Field>
        <Field id="tok-channels" label="Server-side channels (optional)" help="Comma-separated: the server subscribes the connection to them." error={fe('channels')}>
          <input id="tok-channels" value={channels} onInput={(e) => setChannels(e.currentTarget.value)} />
        </Field>
        <Field id="tok-channel" label="Subscription token for channel (optional)" help="Makes a subscription token for this channel instead of a connection token." error={fe('channel')}>
          <input id="tok-channel" value={channel} onInput={(e) => setChannel(e.currentTarget.value)} />
        </Field>
      </div>
      <ErrorBox error={err && err.field && fieldNames.includes(err.field) ? null : gen.error} />
      <Button type="submit" kind="primary" busy={gen.busy}>
        Generate token
      </Button>
      {token && (
        <div class="token" aria-live="polite">
          <label for="token-out">Token</label>
          <textarea id="token-out" readOnly rows={3} value={token} />
          <Copy text={token} label="Copy token" />
        </div>
      )}
    </form>
  );
}


function useOptions() {
  return useLoad(() => get<{ options: OptionSpec[] }>('/options').then((r) => r.options || []), []);
}

function Settings({ project, onChange }: Props) {
  const specs = useOptions();
  const path = `/projects/${enc(project.name)}`;
  if (!specs.data) return specs.error ? <ErrorBox error={specs.error} retry={specs.reload} /> : <Loading what="Loading the options" />;
  const projectLevel = specs.data.filter((s) => s.scope === 'project');
  const channel = specs.data.filter((s) => s.scope !== 'project');
  return (
    <OptionsForm
      key={project.name}
      title="Settings"
      intro="Project-level settings and the channel options of channels outside any namespace."
      topLevel={projectLevel}
      channel={channel}
      values={project}
      onSave={async (body) => onChange(await patch<Project>(path, body))}
    />
  );
}

function Namespaces({ project, onChange, reload }: Props & { reload: () => void }) {
  const specs = useOptions();
  const base = `/projects/${enc(project.name)}/namespaces`;
  const [open, setOpen] = useState<string | null>(null);
  const [newName, setNewName] = useState('');
  const create = useAction(async () => {
    const ns = await post<Namespace>(base, { name: newName, options: {} });
    onChange({ ...project, namespaces: [...(project.namespaces || []), ns] });
    setNewName('');
    setOpen(ns.name);
    return ns;
  });
  if (!specs.data) return specs.error ? <ErrorBox error={specs.error} retry={specs.reload} /> : <Loading what="Loading the options" />;
  const channel = specs.data.filter((s) => s.scope !== 'project');
  const nss = project.namespaces || [];
  const cerr = create.error instanceof ApiError && create.error.field === 'name' ? create.error.message : '';
  return (
    <>
      <form
        class="card form"
        aria-labelledby="ns-new-title"
        onSubmit={(e) => {
          e.preventDefault();
          create.run();
        }}
      >
        <h2 id="ns-new-title">New namespace</h2>
        <p class="help">
          Channels named <code>&lt;namespace&gt;:&lt;rest&gt;</code> take the namespace's options.
        </p>
        <Field id="ns-new-name" label="Name" error={cerr}>
          <input id="ns-new-name" value={newName} required onInput={(e) => setNewName(e.currentTarget.value)} autocomplete="off" spellcheck={false} />
        </Field>
        <ErrorBox error={cerr ? null : create.error} />
        <Button type="submit" kind="primary" busy={create.busy} disabled={!newName}>
          Create namespace
        </Button>
      </form>
      {nss.length === 0 ? (
        <Empty>No namespace yet.</Empty>
      ) : (
        nss.map((ns) => (
          <section class="card ns" key={ns.name} data-namespace={ns.name}>
            <div class="row between">
              <h2>
                <code>{ns.name}:</code>
              </h2>
              <div class="row">
                <Button onClick={() => setOpen(open === ns.name ? null : ns.name)} aria-expanded={open === ns.name ? 'true' : 'false'}>
                  {open === ns.name ? 'Close' : 'Edit options'}
                </Button>
                <ConfirmByName
                  name={ns.name}
                  label="Delete namespace"
                  what={`Channels ${ns.name}:… will be refused.`}
                  onConfirm={async () => {
                    await del(`${base}/${enc(ns.name)}`);
                    reload();
                  }}
                />
              </div>
            </div>
            {open === ns.name && (
              <OptionsForm
                key={ns.name}
                title={`Options of ${ns.name}`}
                channel={channel}
                topLevel={[]}
                values={ns as unknown as OptionValues}
                onSave={async (body) => {
                  const updated = await patch<Namespace>(`${base}/${enc(ns.name)}`, body);
                  onChange({ ...project, namespaces: nss.map((n) => (n.name === ns.name ? updated : n)) });
                }}
              />
            )}
          </section>
        ))
      )}
    </>
  );
}
