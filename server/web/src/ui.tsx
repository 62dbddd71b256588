// Shared pieces: buttons with a loading state, error and empty boxes, the
// "type the name to confirm" dialog, copy-to-clipboard, JSON output.
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Runs an async action with busy and error state; a second run while busy is ignored. */
export function useAction<A extends unknown[], T>(fn: (...args: A) => Promise<T>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const mounted = useRef(true);
  useEffect(() => () => {
    mounted.current = false;
  }, []);
  const run = useCallback(
    async (...args: A): Promise<T | undefined> => {
      setBusy(true);
      setError(null);
      try {
        return await fn(...args);
      } catch (e) {
        if (mounted.current) setError(e);
        return undefined;
      } finally {
        if (mounted.current) setBusy(false);
      }
    },
    [fn],
  );
  return { run, busy, error, setError };
}

/** Loads data on mount (and when deps change): {data, error, loading, reload}. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const seq = useRef(0);
  const reload = useCallback(() => {
    const n = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    fn().then(
      (data) => n === seq.current && setState({ data, loading: false }),
      (error) => n === seq.current && setState({ error, loading: false }),
    );
  }, deps);
  useEffect(() => {
    reload();
    return () => {
      seq.current++;
    };
  }, [reload]);
  return { ...state, reload, set: (data: T) => setState({ data, loading: false }) };
}

type ButtonProps = JSX.HTMLAttributes<HTMLButtonElement> & {
  busy?: boolean;
  kind?: 'primary' | 'danger' | 'plain';
  type?: 'button' | 'submit';
  disabled?: boolean;
};

export function Button({ busy, kind = 'plain', children, disabled, type = 'button', ...rest }: ButtonProps) {
  return (
    <button {...rest} type={type} class={`btn btn-${kind}${busy ? ' busy' : ''}`} disabled={disabled || busy} aria-busy={busy ? 'true' : undefined}>
      {busy && <span class="spinner" aria-hidden="true" />}
      {children}
    </button>
  );
}

export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      <span>{errorText(error)}</span>
      {retry && (
        <Button onClick={retry} kind="plain">
          Retry
        </Button>
      )}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <div class="loading" role="status">
      <span class="spinner" aria-hidden="true" /> {what}…
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

export function Copy({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [state, setState] = useState<'' | 'copied' | 'failed'>('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      setState('failed');
    }
    setTimeout(() => setState(''), 1500);
  };
  return (
    <Button onClick={copy} title="Copy to the clipboard">
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select and copy' : label}
    </Button>
  );
}

export function Json({ value, label }: { value: unknown; label?: string }) {
  return (
    <pre class="json" tabIndex={0} aria-label={label || 'JSON result'}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

/**
 * A dangerous action that runs only after the user types `name`.
 * Renders a button; the dialog opens below it.
 */
export function ConfirmByName(props: {
  name: string;
  label: string;
  what: string;
  onConfirm: () => Promise<unknown>;
}) {
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const action = useAction(async () => {
    await props.onConfirm();
    return true;
  });
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (open) input.current?.focus();
  }, [open]);
  const close = () => {
    setOpen(false);
    setTyped('');
    action.setError(null);
  };
  if (!open) {
    return (
      <Button kind="danger" onClick={() => setOpen(true)}>
        {props.label}
      </Button>
    );
  }
  const id = `confirm-${`${props.label}-${props.name}`.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <form
      class="confirm"
      role="dialog"
      aria-labelledby={`${id}-title`}
      onKeyDown={(e) => e.key === 'Escape' && close()}
      onSubmit={async (e) => {
        e.preventDefault();
        if (typed !== props.name) return;
        const ok = await action.run();
        if (ok) close();
      }}
    >
      <p id={`${id}-title`}>
        {props.what} Type <strong>{props.name}</strong> to confirm.
      </p>
      <label class="sr-only" for={id}>
        Type {props.name} to confirm
      </label>
      <input id={id} ref={input} value={typed} onInput={(e) => setTyped(e.currentTarget.value)} autocomplete="off" spellcheck={false} />
      <div class="row">
        <Button type="submit" kind="danger" busy={action.busy} disabled={typed !== props.name}>
          {props.label}
        </Button>
        <Button onClick={close}>Cancel</Button>
      </div>
      <ErrorBox error={action.error} />
    </form>
  );
}

export function formatDuration(s: number): string {
  s = Math.floor(s);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** A labelled form field with its help text and its error. */
export function Field(props: { id: string; label: string; help?: string; error?: string; children: ComponentChildren; inline?: boolean }) {
  return (
    <div class={`field${props.inline ? ' inline' : ''}${props.error ? ' invalid' : ''}`} data-field={props.id}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.help && (
        <p class="help" id={`${props.id}-help`}>
          {props.help}
        </p>
      )}
      {props.error && (
        <p class="field-error" role="alert">
          {props.error}
        </p>
      )}
    </div>
  );
}
