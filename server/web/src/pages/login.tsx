import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, post, type Session } from '../api';
import { Button, errorText, useAction } from '../ui';

export function Login({ onLogin }: { onLogin: (s: Session) => void }) {
  const [password, setPassword] = useState('');
  const input = useRef<HTMLInputElement>(null);
  const login = useAction(async () => {
    const s = await post<Session>('/login', { password });
    onLogin(s);
    return s;
  });
  useEffect(() => input.current?.focus(), []);
  useEffect(() => {
    if (login.error) {
      input.current?.focus();
      input.current?.select();
    }
  }, [login.error]);
  const err = login.error;
  let message = '';
  if (err instanceof ApiError && err.status === 401) message = 'Wrong password.';
  else if (err instanceof ApiError && err.status === 429) {
    message = err.retryAfter ? `Too many attempts: try again in ${err.retryAfter} s.` : `Too many attempts: ${err.message}.`;
  }
  else if (err) message = errorText(err);
  return (
    <main class="center">
      <form
        class="card login"
        onSubmit={(e) => {
          e.preventDefault();
          login.run();
        }}
      >
        <h1>
          <span class="logo" aria-hidden="true" /> Centrifuge admin
        </h1>
        <label for="password">Password</label>
        <input
          id="password"
          ref={input}
          type="password"
          autocomplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
          aria-invalid={err ? 'true' : undefined}
          aria-describedby={err ? 'login-error' : undefined}
        />
        {message && (
          <p id="login-error" class="field-error" role="alert">
            {message}
          </p>
        )}
        <Button type="submit" kind="primary" busy={login.busy} disabled={!password}>
          Log in
        </Button>
        <p class="hint">
          The password is <code>admin.password</code> in the server's configuration.
        </p>
      </form>
    </main>
  );
}
