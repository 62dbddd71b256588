import { useState } from 'preact/hooks';
import { ApiError, del, enc, get, post, type Project } from '../api';
import { navigate } from '../router';
import { Button, ConfirmByName, Empty, ErrorBox, Loading, useAction, useLoad } from '../ui';

export function Projects() {
  const list = useLoad(() => get<{ projects: Project[] }>('/projects').then((r) => r.projects || []), []);
  return (
    <div class="page">
      <div class="page-head">
        <h1>Projects</h1>
        {list.loading && list.data && <span class="muted">Updating…</span>}
      </div>
      <CreateProject onCreated={(p) => navigate(`/projects/${enc(p.name)}`)} />
      <section class="card" aria-labelledby="projects-title">
        <h2 id="projects-title">All projects</h2>
        <ErrorBox error={list.error} retry={list.reload} />
        {!list.data ? (
          list.error ? null : <Loading what="Loading projects" />
        ) : list.data.length === 0 ? (
          <Empty>No project yet: create the first one above.</Empty>
        ) : (
          <ul class="projects">
            {list.data.map((p) => (
              <li key={p.name} data-project={p.name}>
                <div>
                  <a href={`/projects/${enc(p.name)}`} class="project-link">
                    {p.display_name || p.name}
                  </a>
                  {p.display_name && p.display_name !== p.name && <code class="muted"> {p.name}</code>}
                  <div class="muted small">
                    {(p.namespaces || []).length} namespace{(p.namespaces || []).length === 1 ? '' : 's'}
                  </div>
                </div>
                <div class="actions">
                  <a class="btn btn-plain" href={`/projects/${enc(p.name)}/actions`}>
                    Actions
                  </a>
                  <a class="btn btn-plain" href={`/projects/${enc(p.name)}/live`}>
                    Live
                  </a>
                  <ConfirmByName
                    name={p.name}
                    label="Delete project"
                    what={`Deleting ${p.name} disconnects its clients and removes its settings for good.`}
                    onConfirm={async () => {
                      await del(`/projects/${enc(p.name)}`);
                      list.reload();
                    }}
                  />
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

function CreateProject({ onCreated }: { onCreated: (p: Project) => void }) {
  const [name, setName] = useState('');
  const [display, setDisplay] = useState('');
  const create = useAction(async () => {
    const body: Record<string, string> = { name };
    if (display) body.display_name = display;
    const p = await post<Project>('/projects', body);
    onCreated(p);
    return p;
  });
  const err = create.error instanceof ApiError ? create.error : null;
  const fieldErr = (f: string) => (err && err.field === f ? err.message : '');
  const general = create.error && !(err && (err.field === 'name' || err.field === 'display_name')) ? create.error : null;
  return (
    <form
      class="card form"
      aria-labelledby="create-title"
      onSubmit={(e) => {
        e.preventDefault();
        create.run();
      }}
    >
      <h2 id="create-title">New project</h2>
      <div class="fields">
        <div class="field">
          <label for="new-name">Name</label>
          <input id="new-name" value={name} required onInput={(e) => setName(e.currentTarget.value)} aria-describedby="new-name-help" aria-invalid={fieldErr('name') ? 'true' : undefined} autocomplete="off" spellcheck={false} />
          <p id="new-name-help" class="help">
            Used in URLs (<code>/connection/&lt;name&gt;/websocket</code>, <code>/api/&lt;name&gt;</code>).
          </p>
          {fieldErr('name') && <p class="field-error">{fieldErr('name')}</p>}
        </div>
        <div class="field">
          <label for="new-display">Display name (optional)</label>
          <input id="new-display" value={display} onInput={(e) => setDisplay(e.currentTarget.value)} aria-invalid={fieldErr('display_name') ? 'true' : undefined} />
          {fieldErr('display_name') && <p class="field-error">{fieldErr('display_name')}</p>}
        </div>
      </div>
      <ErrorBox error={general} />
      <Button type="submit" kind="primary" busy={create.busy} disabled={!name}>
        Create project
      </Button>
    </form>
  );
}
