// A form rendered from GET /admin/api/options: every option with its help text,
// the server's validation error shown next to the field it names.
import { useState } from 'preact/hooks';
import { ApiError, type OptionSpec, type OptionValues } from '../api';
import { Button, ErrorBox, useAction } from '../ui';

type Raw = Record<string, string | boolean>;

function toRaw(spec: OptionSpec, v: unknown): string | boolean {
  if (v === undefined || v === null) v = spec.default;
  if (spec.type === 'bool') return Boolean(v);
  if (v === undefined || v === null) return '';
  if (spec.type === 'int' || spec.type === 'duration' || spec.type === 'string') return String(v);
  return JSON.stringify(v, null, 2);
}

/** Parses an input back into the value sent; throws a message for bad input. */
function fromRaw(spec: OptionSpec, raw: string | boolean): unknown {
  if (spec.type === 'bool') return Boolean(raw);
  const s = String(raw).trim();
  if (spec.type === 'int') {
    if (s === '') return spec.default ?? 0;
    if (!/^-?\d+$/.test(s)) throw new Error('must be a whole number');
    return Number(s);
  }
  // Empty resets the option to its default (null in a patch).
  if (s === '') return null;
  if (spec.type === 'duration' || spec.type === 'string') return s;
  try {
    return JSON.parse(s);
  } catch {
    throw new Error('must be JSON');
  }
}

function label(name: string) {
  const s = name.replace(/_/g, ' ').replace(/\b(rsa|ecdsa|rpc|api|url|ttl)\b/g, (w) => w.toUpperCase());
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function OptionsForm(props: {
  title: string;
  intro?: string;
  extra?: OptionSpec[];
  topLevel: OptionSpec[];
  channel: OptionSpec[];
  values: OptionValues;
  onSave: (body: Record<string, unknown>) => Promise<unknown>;
}) {
  const top = [...(props.extra || []), ...props.topLevel];
  const opts = (props.values.options || {}) as OptionValues;
  const initial = () => {
    const r: Raw = {};
    for (const s of top) r[s.name] = toRaw(s, props.values[s.name]);
    for (const s of props.channel) r[`options.${s.name}`] = toRaw(s, opts[s.name]);
    return r;
  };
  const [raw, setRaw] = useState<Raw>(initial);
  const [local, setLocal] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const save = useAction(async () => {
    const errs: Record<string, string> = {};
    const body: Record<string, unknown> = {};
    const options: Record<string, unknown> = {};
    for (const s of top) {
      try {
        body[s.name] = fromRaw(s, raw[s.name]);
      } catch (e) {
        errs[s.name] = (e as Error).message;
      }
    }
    for (const s of props.channel) {
      try {
        options[s.name] = fromRaw(s, raw[`options.${s.name}`]);
      } catch (e) {
        errs[`options.${s.name}`] = (e as Error).message;
      }
    }
    setLocal(errs);
    if (Object.keys(errs).length) return undefined;
    body.options = options;
    setSaved(false);
    await props.onSave(body);
    setSaved(true);
    return true;
  });
  const err = save.error instanceof ApiError ? save.error : null;
  const keys = new Set([...top.map((s) => s.name), ...props.channel.map((s) => `options.${s.name}`)]);
  // The field the server named, or the closest enclosing one (proxy.url -> proxy).
  let errKey = '';
  if (err?.field) {
    for (let f = err.field; f; f = f.includes('.') ? f.slice(0, f.lastIndexOf('.')) : '') {
      if (keys.has(f)) {
        errKey = f;
        break;
      }
    }
  }
  const fieldError = (k: string) => local[k] || (errKey === k ? err!.message : '');

  const input = (s: OptionSpec, key: string) => {
    const id = `opt-${key.replace(/\W/g, '-')}`;
    const v = raw[key];
    const set = (nv: string | boolean) => {
      setRaw({ ...raw, [key]: nv });
      setSaved(false);
    };
    const e = fieldError(key);
    const common = { id, 'aria-describedby': `${id}-help`, 'aria-invalid': e ? ('true' as const) : undefined };
    let control;
    if (s.type === 'bool') {
      control = <input {...common} type="checkbox" checked={Boolean(v)} onChange={(ev) => set(ev.currentTarget.checked)} />;
    } else if (s.type === 'int') {
      control = <input {...common} type="number" step="1" value={String(v)} onInput={(ev) => set(ev.currentTarget.value)} />;
    } else if (s.type === 'duration' || s.type === 'string') {
      control = <input {...common} type="text" value={String(v)} placeholder={s.type === 'duration' ? 'e.g. 60s, 5m' : undefined} onInput={(ev) => set(ev.currentTarget.value)} />;
    } else {
      const placeholder = s.type === 'proxy' ? '{"url": "https://app.example/centrifuge/hook", "timeout": "1s"}' : 'JSON';
      control = <textarea {...common} rows={4} value={String(v)} placeholder={placeholder} onInput={(ev) => set(ev.currentTarget.value)} spellcheck={false} />;
    }
    const def = s.type === 'bool' ? (s.default ? 'on' : 'off') : s.default === '' || s.default == null ? 'empty' : typeof s.default === 'object' ? JSON.stringify(s.default) : String(s.default);
    return (
      <div class={`field${s.type === 'bool' ? ' check' : ''}${e ? ' invalid' : ''}`} key={key} data-option={key}>
        {s.type === 'bool' ? (
          <label for={id}>
            {control} {label(s.name)}
          </label>
        ) : (
          <>
            <label for={id}>
              {label(s.name)} <code class="muted small">{s.name}</code>
            </label>
            {control}
          </>
        )}
        <p class="help" id={`${id}-help`}>
          {s.help} <span class="muted">Default: {def}.</span>
        </p>
        {e && (
          <p class="field-error" role="alert">
            {e}
          </p>
        )}
      </div>
    );
  };

  return (
    <form
      class="card form options"
      onSubmit={(ev) => {
        ev.preventDefault();
        save.run();
      }}
    >
      <h2>{props.title}</h2>
      {props.intro && <p class="help">{props.intro}</p>}
      {top.length > 0 && (
        <fieldset>
          <legend>Project</legend>
          <div class="fields">{top.map((s) => input(s, s.name))}</div>
        </fieldset>
      )}
      <fieldset>
        <legend>Channel options</legend>
        <div class="fields">{props.channel.map((s) => input(s, `options.${s.name}`))}</div>
      </fieldset>
      <ErrorBox error={errKey ? null : save.error} />
      {Object.keys(local).length > 0 && (
        <p class="field-error" role="alert">
          Fix the fields marked above.
        </p>
      )}
      <div class="row sticky-actions">
        <Button type="submit" kind="primary" busy={save.busy}>
          Save
        </Button>
        <Button
          onClick={() => {
            setRaw(initial());
            setLocal({});
            save.setError(null);
          }}
        >
          Reset
        </Button>
        {saved && (
          <span class="ok" role="status">
            Saved.
          </span>
        )}
      </div>
    </form>
  );
}
