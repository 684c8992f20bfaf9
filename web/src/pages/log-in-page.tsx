import { useId, useState, type FormEvent } from 'react';
import { useAuth } from '../auth/auth-context.tsx';
import { CognitoError, describeCognitoError } from '../auth/cognito.ts';
import { Link, useRouter } from '../router.tsx';
import { ErrorMessage, Page } from '../ui/page.tsx';

/** Where to go after logging in: `?next=/path` (same-origin paths only). */
export function nextPath(search: URLSearchParams, fallback = '/'): string {
  const next = search.get('next');
  return next && next.startsWith('/') && !next.startsWith('//') ? next : fallback;
}

export function LogInPage() {
  const { signIn } = useAuth();
  const { navigate, search } = useRouter();
  const [email, setEmail] = useState(search.get('email') ?? '');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const id = useId();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(email, password);
      navigate(nextPath(search), { replace: true });
    } catch (caught) {
      if (caught instanceof CognitoError && caught.type === 'UserNotConfirmedException') {
        navigate(`/signup?confirm=${encodeURIComponent(email.trim())}`);
        return;
      }
      setError(describeCognitoError(caught));
      setBusy(false);
    }
  };

  return (
    <Page title="Log in">
      <form className="card form" onSubmit={submit} aria-describedby={error ? `${id}-error` : undefined}>
        <div className="field">
          <label htmlFor={`${id}-email`}>Email</label>
          <input id={`${id}-email`} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-password`}>Password</label>
          <input
            id={`${id}-password`}
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </div>
        <div id={`${id}-error`}>
          <ErrorMessage>{error}</ErrorMessage>
        </div>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
      <p>
        New here? <Link to="/signup">Create an account</Link>
      </p>
    </Page>
  );
}
