import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { ApiError, get, post, setSession, setUnauthorizedHandler, type Session } from './api';
import { linkClick, navigate, usePath } from './router';
import { Button, ErrorBox, Loading, useAction } from './ui';
import { Login } from './pages/login';
import { Dashboard } from './pages/dashboard';
import { Projects } from './pages/projects';
import { ProjectPage } from './pages/project';

function App() {
  const [session, setS] = useState<Session | null | undefined>(undefined);
  const [checkError, setCheckError] = useState<unknown>(null);
  const path = usePath();

  const check = () => {
    setCheckError(null);
    get<Session>('/session').then(
      (s) => {
        setSession(s);
        setS(s);
      },
      (e) => {
        if (e instanceof ApiError && e.status === 401) {
          setSession(null);
          setS(null);
        } else setCheckError(e);
      },
    );
  };
  useEffect(() => {
    setUnauthorizedHandler(() => {
      setSession(null);
      setS(null);
    });
    check();
  }, []);

  const logout = useAction(async () => {
    await post('/logout');
    setSession(null);
    setS(null);
    navigate('/login');
  });

  if (session === undefined) {
    return (
      <main class="center">
        {checkError ? <ErrorBox error={checkError} retry={check} /> : <Loading what="Checking the session" />}
      </main>
    );
  }
  if (session === null) {
    return (
      <Login
        onLogin={(s) => {
          setSession(s);
          setS(s);
          if (path === '/login') navigate('/', true);
        }}
      />
    );
  }

  let page;
  let section = '';
  const m = /^\/projects\/([^/]+)(?:\/([a-z]+))?\/?$/.exec(path);
  if (path === '/' || path === '/login') {
    page = <Dashboard />;
    section = 'dashboard';
  } else if (path === '/projects' || path === '/projects/') {
    page = <Projects />;
    section = 'projects';
  } else if (m) {
    page = <ProjectPage name={decodeURIComponent(m[1])} tab={m[2] || 'credentials'} />;
    section = 'projects';
  } else {
    page = (
      <div class="empty">
        <h1>Not found</h1>
        <p>
          There is no page at <code>{path}</code>. <a href="/">Go to the dashboard</a>.
        </p>
      </div>
    );
  }
  return (
    <div class="layout" onClick={linkClick}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/">
          <span class="logo" aria-hidden="true" />
          Centrifuge
        </a>
        <nav aria-label="Main">
          <a href="/" aria-current={section === 'dashboard' ? 'page' : undefined}>
            Dashboard
          </a>
          <a href="/projects" aria-current={section === 'projects' ? 'page' : undefined}>
            Projects
          </a>
        </nav>
        <Button onClick={() => logout.run()} busy={logout.busy}>
          Log out
        </Button>
      </header>
      {logout.error ? <ErrorBox error={logout.error} /> : null}
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
