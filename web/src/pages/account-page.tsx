import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { Profile } from '#contracts/api';
import { useApi } from '../api/api-context.tsx';
import { ApiError, describeError } from '../api/client.ts';
import { useAuth } from '../auth/auth-context.tsx';
import { Link } from '../router.tsx';
import { useLoad } from '../ui/feed-row.tsx';
import { ErrorMessage, Page } from '../ui/page.tsx';

/** `/account`: profile (display name, avatar), "Download my data", "Delete my account". */
export function AccountPage() {
  const { user } = useAuth();
  const [deleted, setDeleted] = useState(false);
  if (deleted) {
    return (
      <Page title="Account deleted">
        <p role="status">Your account, your videos and your watch history have been deleted. Thank you for using vodstack.</p>
        <p>
          <Link to="/">Go to the home page</Link>
        </p>
      </Page>
    );
  }
  if (!user) {
    return (
      <Page title="Account settings">
        <p>
          <Link to="/login?next=/account">Log in</Link> to change your account settings.
        </p>
      </Page>
    );
  }
  return <AccountSettings key={user.id} email={user.email} onDeleted={() => setDeleted(true)} />;
}

function AccountSettings({ email, onDeleted }: { email: string; onDeleted: () => void }) {
  const api = useApi();
  const [profile, retry] = useLoad(() => api.profile(), 'profile');
  return (
    <Page title="Account settings">
      {profile.state === 'loading' && <p role="status">Loading your profile…</p>}
      {profile.state === 'error' && (
        <>
          <ErrorMessage>{describeError(profile.error)}</ErrorMessage>
          <button type="button" onClick={retry}>
            Try again
          </button>
        </>
      )}
      {profile.state === 'loaded' && <ProfileForm profile={profile.value} />}
      <ExportSection />
      <DeleteSection email={profile.state === 'loaded' ? (profile.value.email ?? email) : email} onDeleted={onDeleted} />
    </Page>
  );
}

function ProfileForm({ profile }: { profile: Profile }) {
  const api = useApi();
  const id = useId();
  const [displayName, setDisplayName] = useState(profile.displayName ?? '');
  const [avatarUrl, setAvatarUrl] = useState(profile.avatarUrl ?? '');
  const [saved, setSaved] = useState<Profile>(profile);
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setStatus('');
    const name = displayName.trim();
    const avatar = avatarUrl.trim();
    if (avatar && !/^https:\/\/\S+$/.test(avatar)) return setError('The avatar must be an https:// image address.');
    const patch = {
      ...(name && name !== (saved.displayName ?? '') ? { displayName: name } : {}),
      ...(avatar !== (saved.avatarUrl ?? '') ? { avatarUrl: avatar || null } : {}),
    };
    if (Object.keys(patch).length === 0) return setStatus('Nothing to save.');
    setBusy(true);
    try {
      const next = await api.updateProfile(patch);
      setSaved(next);
      setDisplayName(next.displayName ?? '');
      setAvatarUrl(next.avatarUrl ?? '');
      setStatus('Profile saved.');
    } catch (caught) {
      setError(describeError(caught));
    }
    setBusy(false);
  };

  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Profile</h2>
      <form className="form" onSubmit={submit} aria-labelledby={`${id}-heading`}>
        <div className="profile-head">
          {saved.avatarUrl ? (
            <img className="avatar" src={saved.avatarUrl} alt="" width={64} height={64} referrerPolicy="no-referrer" />
          ) : (
            <span className="avatar avatar-empty" aria-hidden="true">
              {(saved.displayName ?? saved.email ?? '?').slice(0, 1).toUpperCase()}
            </span>
          )}
          <p className="muted">{saved.email}</p>
        </div>
        <div className="field">
          <label htmlFor={`${id}-name`}>Display name</label>
          <input
            id={`${id}-name`}
            maxLength={60}
            autoComplete="nickname"
            aria-describedby={`${id}-name-hint`}
            value={displayName}
            onChange={(e) => setDisplayName(e.target.value)}
          />
          <p id={`${id}-name-hint`} className="hint">
            Shown on your videos and your channel.
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${id}-avatar`}>Avatar URL</label>
          <input
            id={`${id}-avatar`}
            type="url"
            inputMode="url"
            maxLength={2048}
            placeholder="https://…"
            aria-describedby={`${id}-avatar-hint`}
            value={avatarUrl}
            onChange={(e) => setAvatarUrl(e.target.value)}
          />
          <p id={`${id}-avatar-hint`} className="hint">
            An https:// address of a square image. Leave it empty to remove your avatar.
          </p>
        </div>
        <ErrorMessage>{error}</ErrorMessage>
        <p role="status" className="status">
          {status}
        </p>
        <div className="row">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save profile'}
          </button>
        </div>
      </form>
    </section>
  );
}

function ExportSection() {
  const api = useApi();
  const id = useId();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState('');

  const download = async () => {
    setBusy(true);
    setError(undefined);
    setStatus('');
    try {
      const data = await api.exportAccount();
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = `vodstack-export-${new Date().toISOString().slice(0, 10)}.json`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setStatus(`Your data is downloading: ${data.videos.length === 1 ? '1 video' : `${data.videos.length} videos`}, your profile and your watch history.`);
    } catch (caught) {
      setError(describeError(caught));
    }
    setBusy(false);
  };

  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Your data</h2>
      <p>Download everything vodstack holds about you — your profile, your videos' details and your watch history — as a JSON file.</p>
      <ErrorMessage>{error}</ErrorMessage>
      <p role="status" className="status">
        {status}
      </p>
      <button type="button" disabled={busy} onClick={() => void download()}>
        {busy ? 'Preparing…' : 'Download my data'}
      </button>
    </section>
  );
}

function DeleteSection({ email, onDeleted }: { email: string; onDeleted: () => void }) {
  const id = useId();
  const [open, setOpen] = useState(false);
  const opener = useRef<HTMLButtonElement>(null);
  return (
    <section className="card danger-zone" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Delete your account</h2>
      <p>This deletes your account, every video you uploaded with all its files, and your watch history. It cannot be undone.</p>
      <button ref={opener} type="button" className="danger" onClick={() => setOpen(true)}>
        Delete my account
      </button>
      {open && (
        <DeleteAccountDialog
          email={email}
          onClose={() => {
            setOpen(false);
            requestAnimationFrame(() => opener.current?.focus());
          }}
          onDeleted={onDeleted}
        />
      )}
    </section>
  );
}

function DeleteAccountDialog({ email, onClose, onDeleted }: { email: string; onClose: () => void; onDeleted: () => void }) {
  const api = useApi();
  const { signOut } = useAuth();
  const id = useId();
  const dialog = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const matches = typed.trim().toLowerCase() === email.trim().toLowerCase();

  useEffect(() => {
    const element = dialog.current;
    element?.showModal();
    return () => element?.close();
  }, []);

  const confirm = async (event: FormEvent) => {
    event.preventDefault();
    if (!matches) return setError('Type your email exactly as shown to confirm.');
    setBusy(true);
    setError(undefined);
    try {
      await api.deleteAccount();
    } catch (caught) {
      // 401: the account is already gone (the token no longer maps to a user).
      if (!(caught instanceof ApiError && caught.status === 401)) {
        setError(describeError(caught));
        setBusy(false);
        return;
      }
    }
    onDeleted();
    await signOut();
  };

  return (
    <dialog
      ref={dialog}
      className="dialog"
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-body`}
      onClose={() => {
        // A close queued before the dialog was shown again (an effect re-run) is not the person's.
        if (!dialog.current?.open) onClose();
      }}
    >
      <form className="form" onSubmit={confirm}>
        <h2 id={`${id}-title`}>Delete your account?</h2>
        <p id={`${id}-body`}>
          Everything goes: your account, all your videos and their files, and your history. To confirm, type your email, <strong>{email}</strong>.
        </p>
        <div className="field">
          <label htmlFor={`${id}-email`}>Type your email to confirm</label>
          <input id={`${id}-email`} type="email" autoComplete="off" value={typed} onChange={(e) => setTyped(e.target.value)} />
        </div>
        <ErrorMessage>{error}</ErrorMessage>
        <div className="row">
          <button type="submit" className="danger" disabled={busy || !matches}>
            {busy ? 'Deleting…' : 'Delete my account forever'}
          </button>
          <button type="button" autoFocus onClick={() => dialog.current?.close()}>
            Keep my account
          </button>
        </div>
      </form>
    </dialog>
  );
}
