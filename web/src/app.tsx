import { useId, useState, type FormEvent } from 'react';
import { ApiProvider } from './api/api-context.tsx';
import { AuthProvider, useAuth } from './auth/auth-context.tsx';
import type { AppConfig } from './config.ts';
import { ConfigContext } from './config-context.ts';
import { AccountPage } from './pages/account-page.tsx';
import { ChannelPage } from './pages/channel-page.tsx';
import { HomePage } from './pages/home-page.tsx';
import { LogInPage } from './pages/log-in-page.tsx';
import { MyVideosPage } from './pages/my-videos-page.tsx';
import { NotFoundPage } from './pages/not-found-page.tsx';
import { SearchPage } from './pages/search-page.tsx';
import { searchUrl, tagsOf } from './ui/discovery.ts';
import { SignUpPage } from './pages/sign-up-page.tsx';
import { UploadPage } from './pages/upload-page.tsx';
import { WatchPage } from './pages/watch-page.tsx';
import { Link, RouterProvider, useRouter } from './router.tsx';
import { UploadsProvider } from './upload/uploads-context.tsx';

export function App({ config }: { config: AppConfig }) {
  return (
    <ConfigContext.Provider value={config}>
      <RouterProvider>
        <AuthProvider config={config}>
          <ApiProvider>
            <UploadsProvider>
              <Shell />
            </UploadsProvider>
          </ApiProvider>
        </AuthProvider>
      </RouterProvider>
    </ConfigContext.Provider>
  );
}

function Shell() {
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header />
      <main id="main" tabIndex={-1}>
        <Routes />
      </main>
    </>
  );
}

function Header() {
  const { user, signOut } = useAuth();
  const { navigate, path } = useRouter();
  const current = (to: string) => (path === to ? ('page' as const) : undefined);
  return (
    <header className="site-header">
      <Link to="/" className="brand" aria-label="vodstack home">
        <span aria-hidden="true" className="brand-mark">
          ▶
        </span>
        vodstack
      </Link>
      <SearchBox />
      <nav aria-label="Main">
        <ul>
          {user ? (
            <>
              <li>
                <Link to="/upload" aria-current={current('/upload')}>
                  Upload
                </Link>
              </li>
              <li>
                <Link to="/videos" aria-current={current('/videos')}>
                  My videos
                </Link>
              </li>
              <li>
                <Link to="/account" aria-current={current('/account')}>
                  Account
                </Link>
              </li>
              <li className="account">
                <span className="who" title={user.email}>
                  {user.email}
                </span>
                <button
                  type="button"
                  className="link-button"
                  onClick={() => {
                    void signOut();
                    navigate('/');
                  }}
                >
                  Log out
                </button>
              </li>
            </>
          ) : (
            <>
              <li>
                <Link to="/login" aria-current={current('/login')}>
                  Log in
                </Link>
              </li>
              <li>
                <Link to="/signup" aria-current={current('/signup')}>
                  Sign up
                </Link>
              </li>
            </>
          )}
        </ul>
      </nav>
    </header>
  );
}

/** The header's search box: submits to `/search?q=` (keeping the tag filters of the results page). */
function SearchBox() {
  const { path, search } = useRouter();
  const q = path === '/search' ? (search.get('q') ?? '') : '';
  // Keyed by the query, so the box shows the words of the results on screen.
  return <SearchForm key={q} initial={q} />;
}

function SearchForm({ initial }: { initial: string }) {
  const id = useId();
  const { path, search, navigate } = useRouter();
  const onResults = path === '/search';
  const [text, setText] = useState(initial);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const words = text.trim();
    const tags = onResults ? tagsOf(search) : [];
    if (!words && tags.length === 0) return;
    navigate(searchUrl(words, tags, onResults ? search.get('page_size') : null));
  };
  return (
    <form role="search" className="search-box" onSubmit={submit}>
      <label htmlFor={`${id}-q`} className="visually-hidden">
        Search videos
      </label>
      <input id={`${id}-q`} type="search" name="q" placeholder="Search videos" maxLength={200} enterKeyHint="search" value={text} onChange={(e) => setText(e.target.value)} />
      <button type="submit">Search</button>
    </form>
  );
}

function Routes() {
  const { path } = useRouter();
  const watch = /^\/watch\/([^/]+)\/?$/.exec(path);
  if (watch) return <WatchPage key={watch[1]} videoId={decodeURIComponent(watch[1]!)} />;
  const channel = /^\/channel\/([^/]+)\/?$/.exec(path);
  if (channel) return <ChannelPage key={channel[1]} userId={decodeURIComponent(channel[1]!)} />;
  switch (path.replace(/\/$/, '') || '/') {
    case '/':
      return <HomePage />;
    case '/login':
      return <LogInPage />;
    case '/signup':
      return <SignUpPage />;
    case '/upload':
      return <UploadPage />;
    case '/videos':
      return <MyVideosPage />;
    case '/search':
      return <SearchPage />;
    case '/account':
      return <AccountPage />;
    default:
      return <NotFoundPage />;
  }
}
