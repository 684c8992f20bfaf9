import { useId, useState, type FormEvent } from 'react';
import { useAuth } from '../auth/auth-context.tsx';
import { describeCognitoError } from '../auth/cognito.ts';
import { PASSWORD_RULES, passwordMeetsRules } from '../auth/password-rules.ts';
import { isLocalMode } from '../config.ts';
import { useConfig } from '../config-context.ts';
import { Link, useRouter } from '../router.tsx';
import { ErrorMessage, Page } from '../ui/page.tsx';
import { nextPath } from './log-in-page.tsx';

export function SignUpPage() {
  const { search } = useRouter();
  const [confirming, setConfirming] = useState<{ email: string; password?: string } | undefined>(() => {
    const email = search.get('confirm');
    return email ? { email } : undefined;
  });
  return confirming ? (
    <ConfirmForm email={confirming.email} password={confirming.password} />
  ) : (
    <SignUpForm onSignedUp={(email, password) => setConfirming({ email, password })} />
  );
}

function SignUpForm({ onSignedUp }: { onSignedUp: (email: string, password: string) => void }) {
  const { cognito } = useAuth();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [tried, setTried] = useState(false);
  const id = useId();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setTried(true);
    setError(undefined);
    if (!passwordMeetsRules(password)) {
      setError('Choose a password that follows every rule in the list.');
      return;
    }
    setBusy(true);
    try {
      await cognito.signUp(email.trim(), password);
      onSignedUp(email.trim(), password);
    } catch (caught) {
      setError(describeCognitoError(caught));
      setBusy(false);
    }
  };

  return (
    <Page title="Sign up" heading="Create your account">
      <form className="card form" onSubmit={submit} noValidate={false}>
        <div className="field">
          <label htmlFor={`${id}-email`}>Email</label>
          <input id={`${id}-email`} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-password`}>Password</label>
          <input
            id={`${id}-password`}
            type="password"
            autoComplete="new-password"
            required
            aria-describedby={`${id}-rules`}
            aria-invalid={tried && !passwordMeetsRules(password) ? true : undefined}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <div id={`${id}-rules`} className="hint">
            <p>Your password needs:</p>
            <ul className="rules" aria-label="Password rules">
              {PASSWORD_RULES.map((rule) => {
                const met = rule.test(password);
                return (
                  <li key={rule.id} className={met ? 'met' : undefined}>
                    <span aria-hidden="true">{met ? '✓' : '•'}</span> {rule.text}
                    <span className="visually-hidden">{met ? ' (done)' : ''}</span>
                  </li>
                );
              })}
            </ul>
          </div>
        </div>
        <ErrorMessage>{error}</ErrorMessage>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing up…' : 'Sign up'}
        </button>
      </form>
      <p>
        Already have an account? <Link to="/login">Log in instead</Link>
      </p>
    </Page>
  );
}

function ConfirmForm({ email, password }: { email: string; password: string | undefined }) {
  const config = useConfig();
  const { cognito, signIn } = useAuth();
  const { navigate, search } = useRouter();
  const [code, setCode] = useState('');
  const [error, setError] = useState<string>();
  const [info, setInfo] = useState<string>();
  const [busy, setBusy] = useState(false);
  const id = useId();
  const local = isLocalMode(config);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await cognito.confirmSignUp(email, code.trim());
    } catch (caught) {
      setError(describeCognitoError(caught));
      setBusy(false);
      return;
    }
    if (!password) return navigate(`/login?email=${encodeURIComponent(email)}`, { replace: true });
    try {
      await signIn(email, password);
      navigate(nextPath(search, '/upload'), { replace: true });
    } catch (caught) {
      setError(`Your account is confirmed, but logging in failed: ${describeCognitoError(caught)}`);
      setBusy(false);
    }
  };

  const resend = async () => {
    setError(undefined);
    setInfo(undefined);
    try {
      await cognito.resendCode(email);
      setInfo(`We sent a new code to ${email}.`);
    } catch (caught) {
      setError(describeCognitoError(caught));
    }
  };

  return (
    <Page title="Confirm your email">
      <form className="card form" onSubmit={submit}>
        <p id={`${id}-hint`}>
          We sent a confirmation code to <strong>{email}</strong>. Enter it here to finish creating your account.
          {local && (
            <>
              {' '}
              <span className="local-hint">This is a local platform, which sends no email: the code is printed in the console where <code>npm start</code> runs
                (and kept in <code>cognito/mailbox.jsonl</code> in its data folder).</span>
            </>
          )}
        </p>
        <div className="field">
          <label htmlFor={`${id}-code`}>Confirmation code</label>
          <input
            id={`${id}-code`}
            inputMode="numeric"
            autoComplete="one-time-code"
            required
            aria-describedby={`${id}-hint`}
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
        </div>
        <ErrorMessage>{error}</ErrorMessage>
        <p role="status">{info}</p>
        <div className="row">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Confirming…' : 'Confirm'}
          </button>
          {!local && (
            <button type="button" onClick={() => void resend()}>
              Send a new code
            </button>
          )}
        </div>
      </form>
    </Page>
  );
}
