import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { VideoStatusView, VideoSummary, VideoView, Visibility } from '#contracts/api';
import { useApi } from '../api/api-context.tsx';
import { ApiError, describeError } from '../api/client.ts';
import { useAuth } from '../auth/auth-context.tsx';
import { Link } from '../router.tsx';
import { formatBytes, formatClock, formatDate, percent, sentence } from '../ui/format.ts';
import { candidateUrl } from '../ui/discovery.ts';
import { ErrorMessage, Page } from '../ui/page.tsx';
import { VisibilityField, visibilityLabel } from '../ui/visibility-field.tsx';
import { parseTags } from '../upload/metadata.ts';

/** How often videos still in the pipeline are checked. */
const POLL_MS = 4000;
const IN_PIPELINE = new Set(['pending_upload', 'uploaded', 'processing']);

export function MyVideosPage() {
  const { user } = useAuth();
  if (!user) {
    return (
      <Page title="My videos">
        <p>
          <Link to="/login?next=/videos">Log in</Link> to see and manage your videos.
        </p>
      </Page>
    );
  }
  return <VideoList key={user.id} />;
}

function VideoList() {
  const api = useApi();
  const [videos, setVideos] = useState<readonly VideoSummary[]>([]);
  const [cursor, setCursor] = useState<string>();
  const [state, setState] = useState<'loading' | 'loaded' | 'more'>('loading');
  const [error, setError] = useState<unknown>();
  const [announcement, setAnnouncement] = useState('');
  const [attempt, setAttempt] = useState(0);

  const fetchPage = useCallback(
    async (after?: string) => {
      try {
        const page = await api.myVideos(after);
        setVideos((current) => (after ? [...current, ...page.items.filter((v) => !current.some((c) => c.id === v.id))] : page.items));
        setCursor(page.nextCursor);
        setError(undefined);
      } catch (caught) {
        setError(caught);
      }
      setState('loaded');
    },
    [api],
  );

  useEffect(() => {
    // A tick later, so that a mount undone at once (StrictMode's double mount) fetches nothing.
    const timer = setTimeout(() => void fetchPage(), 0);
    return () => clearTimeout(timer);
  }, [fetchPage, attempt]);

  // Keep the status of videos still uploading or processing current.
  const pending = videos.filter((v) => IN_PIPELINE.has(v.status)).map((v) => v.id);
  const pendingKey = pending.join(',');
  useEffect(() => {
    if (!pendingKey) return;
    const timer = setTimeout(async () => {
      const statuses = await Promise.all(pendingKey.split(',').map((id) => api.status(id).catch(() => undefined)));
      const byId = new Map(statuses.filter((s): s is VideoStatusView => s !== undefined).map((s) => [s.id, s]));
      setVideos((current) => current.map((v) => (byId.has(v.id) ? { ...v, ...statusFields(byId.get(v.id)!) } : v)));
    }, POLL_MS);
    return () => clearTimeout(timer);
  }, [api, pendingKey, videos]);

  const replace = (video: VideoView) => setVideos((current) => current.map((v) => (v.id === video.id ? { ...v, ...video } : v)));
  const removed = (video: VideoSummary) => {
    setVideos((current) => current.filter((v) => v.id !== video.id));
    setAnnouncement(`Deleted “${video.title}”.`);
  };

  return (
    <Page title="My videos" wide>
      <p role="status" className="visually-hidden">
        {announcement}
      </p>
      {state === 'loading' && <p>Loading your videos…</p>}
      {error !== undefined && (
        <>
          <ErrorMessage>{describeError(error)}</ErrorMessage>
          <button type="button" onClick={() => setAttempt((n) => n + 1)}>
            Try again
          </button>
        </>
      )}
      {state !== 'loading' && error === undefined && videos.length === 0 && (
        <p>
          You have not uploaded any videos yet. <Link to="/upload">Add your first video</Link>
        </p>
      )}
      {videos.length > 0 && (
        <ul className="video-list" aria-label="Your videos">
          {videos.map((video) => (
            <li key={video.id}>
              <VideoCard video={video} onSaved={replace} onDeleted={removed} />
            </li>
          ))}
        </ul>
      )}
      {cursor && (
        <button
          type="button"
          disabled={state === 'more'}
          onClick={() => {
            setState('more');
            void fetchPage(cursor);
          }}
        >
          {state === 'more' ? 'Loading…' : 'Load more videos'}
        </button>
      )}
    </Page>
  );
}

function statusFields(status: VideoStatusView): Pick<VideoSummary, 'status' | 'progress' | 'failure'> {
  return { status: status.status, progress: status.progress, failure: status.failure };
}

function statusText(video: VideoSummary): string {
  switch (video.status) {
    case 'pending_upload':
      return 'Uploading';
    case 'uploaded':
      return 'Waiting to process';
    case 'processing':
      return `Processing ${percent(video.progress)}`;
    case 'ready':
      return 'Ready';
    case 'failed':
      return 'Failed';
    case 'aborted':
      return 'Cancelled';
  }
}

function VideoCard({ video, onSaved, onDeleted }: { video: VideoSummary; onSaved: (v: VideoView) => void; onDeleted: (v: VideoSummary) => void }) {
  const id = useId();
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const editButton = useRef<HTMLButtonElement>(null);

  return (
    <article className="card video-card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{video.title}</h2>
      <p className="meta">
        <span className={`badge status-${video.status}`}>{statusText(video)}</span>
        <span className={`badge badge-${video.visibility}`}>{visibilityLabel(video.visibility)}</span>
        <span>{formatDate(video.createdAt)}</span>
        {video.durationSeconds !== undefined && <span>{formatClock(video.durationSeconds)}</span>}
        <span>{formatBytes(video.fileSize)}</span>
      </p>
      {video.status === 'processing' && <progress max={1} value={video.progress} aria-label={`Processing progress of ${video.title}`} />}
      {video.status === 'failed' && video.failure && <p className="error">{sentence(video.failure.message)}</p>}
      {editing ? (
        <EditForm
          video={video}
          onDone={(saved) => {
            if (saved) onSaved(saved);
            setEditing(false);
            requestAnimationFrame(() => editButton.current?.focus());
          }}
        />
      ) : (
        <>
          {video.description && <p className="description">{video.description}</p>}
          {video.tags.length > 0 && (
            <ul className="tags" aria-label="Tags">
              {video.tags.map((tag) => (
                <li key={tag}>{tag}</li>
              ))}
            </ul>
          )}
          <div className="row">
            {video.status === 'ready' && (
              <Link className="button primary" to={`/watch/${video.id}`}>
                Watch
              </Link>
            )}
            <button type="button" ref={editButton} onClick={() => setEditing(true)}>
              Edit
            </button>
            <button type="button" className="danger" onClick={() => setDeleting(true)}>
              Delete
            </button>
          </div>
        </>
      )}
      {deleting && <DeleteDialog video={video} onClose={() => setDeleting(false)} onDeleted={() => onDeleted(video)} />}
    </article>
  );
}

function EditForm({ video, onDone }: { video: VideoSummary; onDone: (saved?: VideoView) => void }) {
  const api = useApi();
  const id = useId();
  const [title, setTitle] = useState(video.title);
  const [description, setDescription] = useState(video.description);
  const [tags, setTags] = useState(video.tags.join(', '));
  const [visibility, setVisibility] = useState<Visibility>(video.visibility);
  const [version, setVersion] = useState(video.version);
  const [poster, setPoster] = useState<PosterChoice>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const posterEdit = poster instanceof File ? { uploaded: await uploadPoster(api, video.id, poster) } : poster === undefined ? undefined : { candidate: poster };
      onDone(
        await api.updateVideo(video.id, {
          title,
          description,
          tags: parseTags(tags),
          visibility,
          version,
          ...(posterEdit === undefined ? {} : { poster: posterEdit }),
        }),
      );
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 409) {
        // Changed elsewhere: show the latest, and let the person decide again.
        const latest = await api.video(video.id).catch(() => undefined);
        if (latest) {
          setTitle(latest.title);
          setDescription(latest.description);
          setTags(latest.tags.join(', '));
          setVisibility(latest.visibility);
          setVersion(latest.version);
        }
        setError('This video was changed somewhere else since you opened it. The form now shows the latest details: check them and save again.');
      } else {
        setError(describeError(caught));
      }
      setBusy(false);
    }
  };

  return (
    <form className="form" onSubmit={submit} aria-label={`Edit ${video.title}`}>
      <div className="field">
        <label htmlFor={`${id}-title`}>Title</label>
        <input ref={first} id={`${id}-title`} required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-description`}>Description</label>
        <textarea id={`${id}-description`} rows={3} maxLength={5000} value={description} onChange={(e) => setDescription(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-tags`}>Tags</label>
        <input id={`${id}-tags`} aria-describedby={`${id}-tags-hint`} value={tags} onChange={(e) => setTags(e.target.value)} />
        <p id={`${id}-tags-hint`} className="hint">
          Separate tags with commas.
        </p>
      </div>
      <VisibilityField value={visibility} onChange={setVisibility} />
      {video.status === 'ready' && <PosterField videoId={video.id} value={poster} onChange={setPoster} />}
      <ErrorMessage>{error}</ErrorMessage>
      <div className="row">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save'}
        </button>
        <button type="button" onClick={() => onDone()}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** Candidate thumbnails the pipeline made, as `PATCH` numbers them (0..2). */
const CANDIDATES = [0, 1, 2] as const;

/** A candidate frame (0..2), an image file to upload, or `undefined` to keep the current poster. */
type PosterChoice = number | File;

/** What the API takes as a poster image (`StartPosterUploadRequest`). */
const POSTER_TYPES = ['image/jpeg', 'image/png'] as const;
const POSTER_MAX_BYTES = 2 * 1024 * 1024;

/** Stores `file` with a presigned PUT (signed for its exact type and size); returns its key for `PATCH`. */
async function uploadPoster(api: ReturnType<typeof useApi>, videoId: string, file: File): Promise<string> {
  const upload = await api.startPosterUpload(videoId, { contentType: file.type as (typeof POSTER_TYPES)[number], size: file.size });
  const stored = await fetch(upload.url, { method: 'PUT', body: file, headers: { 'Content-Type': file.type } }).catch(() => undefined);
  if (!stored?.ok) throw new Error('The poster image could not be uploaded. Check your connection and try again.');
  return upload.key;
}

/** Why a chosen file cannot be the poster, in plain words; `undefined` when it can. */
function posterFileProblem(file: File): string | undefined {
  if (!(POSTER_TYPES as readonly string[]).includes(file.type)) return 'That file is not a JPEG or PNG image. Choose a .jpg or .png file.';
  if (file.size > POSTER_MAX_BYTES) return `That image is ${formatBytes(file.size)}. Choose one of 2 MB or less.`;
  if (file.size === 0) return 'That file is empty. Choose another image.';
  return undefined;
}

/**
 * "Poster": keep the current one, choose one of the candidate frames (shown via the stream's
 * signed URLs), or upload a JPEG or PNG image of up to 2 MB (checked here before it is sent).
 */
function PosterField({ videoId, value, onChange }: { videoId: string; value: PosterChoice | undefined; onChange: (value: PosterChoice | undefined) => void }) {
  const api = useApi();
  const id = useId();
  const [poster, setPoster] = useState<string>();
  const [broken, setBroken] = useState<readonly number[]>([]);
  const [fileError, setFileError] = useState<string>();
  useEffect(() => {
    let cancelled = false;
    api.stream(videoId).then(
      (stream) => !cancelled && setPoster(stream.poster),
      () => undefined, // no stream, no choice: the rest of the form still works
    );
    return () => {
      cancelled = true;
    };
  }, [api, videoId]);
  if (!poster) return null;
  const choices = CANDIDATES.filter((n) => !broken.includes(n));
  return (
    <fieldset className="poster-field">
      <legend>Poster</legend>
      <label className="poster-choice">
        <input type="radio" name={`${id}-poster`} checked={value === undefined} onChange={() => onChange(undefined)} />
        <img src={poster} alt="" width={160} height={90} />
        <span>Keep the current poster</span>
      </label>
      {choices.map((n) => (
        <label key={n} className="poster-choice">
          <input type="radio" name={`${id}-poster`} checked={value === n} onChange={() => onChange(n)} />
          <img src={candidateUrl(poster, n)} alt="" width={160} height={90} onError={() => setBroken((b) => [...b, n])} />
          <span>Frame {n + 1}</span>
        </label>
      ))}
      <div className="poster-upload">
        <label htmlFor={`${id}-upload`}>Upload an image…</label>
        <input
          id={`${id}-upload`}
          type="file"
          accept={POSTER_TYPES.join(',')}
          aria-describedby={`${id}-upload-hint`}
          onChange={(event) => {
            const file = event.target.files?.[0];
            const problem = file && posterFileProblem(file);
            setFileError(problem);
            if (problem) event.target.value = '';
            onChange(file && !problem ? file : undefined);
          }}
        />
        <p id={`${id}-upload-hint`} className="hint">
          {value instanceof File ? `${value.name} will be the poster when you save.` : 'A JPEG or PNG image of up to 2 MB.'}
        </p>
        <ErrorMessage>{fileError}</ErrorMessage>
      </div>
    </fieldset>
  );
}

function DeleteDialog({ video, onClose, onDeleted }: { video: VideoSummary; onClose: () => void; onDeleted: () => void }) {
  const api = useApi();
  const id = useId();
  const dialog = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const element = dialog.current;
    element?.showModal();
    return () => element?.close();
  }, []);

  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api.deleteVideo(video.id);
      onDeleted();
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 404) return onDeleted(); // already gone
      setError(describeError(caught));
      setBusy(false);
    }
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
      <h2 id={`${id}-title`}>Delete “{video.title}”?</h2>
      <p id={`${id}-body`}>This removes the video and all its files for everyone. It cannot be undone.</p>
      <ErrorMessage>{error}</ErrorMessage>
      <div className="row">
        <button type="button" className="danger" disabled={busy} onClick={() => void confirm()}>
          {busy ? 'Deleting…' : 'Delete video'}
        </button>
        <button type="button" autoFocus onClick={() => dialog.current?.close()}>
          Keep it
        </button>
      </div>
    </dialog>
  );
}
