import { useEffect, useId, useState, type DragEvent } from 'react';
import { useAuth } from '../auth/auth-context.tsx';
import { Link } from '../router.tsx';
import { formatBytes, formatSpeed, formatTimeLeft, percent } from '../ui/format.ts';
import { ErrorMessage, Page } from '../ui/page.tsx';
import { videoTypeOf } from '../upload/metadata.ts';
import type { UploadItem, UploadStore } from '../upload/upload-store.ts';
import { useUploads } from '../upload/uploads-context.tsx';
import { VisibilityField } from '../ui/visibility-field.tsx';

export function UploadPage() {
  const { user } = useAuth();
  const { store, items } = useUploads();
  if (!user || !store) {
    return (
      <Page title="Upload videos">
        <p>
          <Link to="/login?next=/upload">Log in</Link> to upload videos. No account yet? <Link to="/signup">Create one</Link>.
        </p>
      </Page>
    );
  }
  const drafts = items.filter((i) => i.stage === 'draft').length;
  return (
    <Page title="Upload videos" wide>
      <FilePicker store={store} />
      {drafts > 1 && (
        <p>
          <button type="button" className="primary" onClick={() => store.startAll()}>
            Start all uploads
          </button>
        </p>
      )}
      {items.length > 0 && (
        <ul className="uploads" aria-label="Uploads">
          {[...items].reverse().map((item) => (
            <li key={item.key}>
              <UploadCard item={item} store={store} />
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}

function FilePicker({ store }: { store: UploadStore }) {
  const [dragging, setDragging] = useState(false);
  const [rejected, setRejected] = useState<string>();
  const id = useId();

  // A file dropped beside the zone must not make the browser navigate away to open it.
  useEffect(() => {
    const block = (event: globalThis.DragEvent) => event.preventDefault();
    window.addEventListener('dragover', block);
    window.addEventListener('drop', block);
    return () => {
      window.removeEventListener('dragover', block);
      window.removeEventListener('drop', block);
    };
  }, []);

  const add = (files: FileList | null) => {
    const all = [...(files ?? [])];
    const videos = all.filter((f) => videoTypeOf(f) !== undefined);
    const others = all.filter((f) => videoTypeOf(f) === undefined).map((f) => f.name);
    setRejected(others.length ? `Not added, as ${others.length === 1 ? 'it is not a video' : 'they are not videos'}: ${others.join(', ')}.` : undefined);
    if (videos.length) store.addFiles(videos);
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    add(event.dataTransfer.files);
  };

  return (
    <div
      className={dragging ? 'dropzone dragging' : 'dropzone'}
      onDragEnter={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragOver={(e) => {
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
      }}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDragging(false);
      }}
      onDrop={onDrop}
    >
      <p id={`${id}-hint`}>Drag and drop video files here, or</p>
      <input
        id={`${id}-files`}
        className="file-input"
        type="file"
        multiple
        accept="video/*"
        aria-describedby={`${id}-hint`}
        onChange={(e) => {
          add(e.target.files);
          e.target.value = '';
        }}
      />
      <label htmlFor={`${id}-files`} className="button primary">
        Choose video files
      </label>
      <p className="hint">MP4, MOV, MKV, WebM and most other video formats; up to 20 GB and 4 hours each.</p>
      <ErrorMessage>{rejected}</ErrorMessage>
    </div>
  );
}

function UploadCard({ item, store }: { item: UploadItem; store: UploadStore }) {
  const id = useId();
  const name = item.file.name;
  const editable = item.stage === 'draft' || (item.stage === 'failed' && !item.videoId);
  return (
    <section className="card upload" aria-labelledby={`${id}-name`}>
      <h2 id={`${id}-name`} className="file-name">
        {name}
      </h2>
      <p className="meta">{formatBytes(item.file.size)}</p>
      {editable ? <MetadataForm item={item} store={store} /> : <Progress item={item} store={store} />}
    </section>
  );
}

function MetadataForm({ item, store }: { item: UploadItem; store: UploadStore }) {
  const id = useId();
  const { draft } = item;
  const edit = (patch: Parameters<UploadStore['editDraft']>[1]) => store.editDraft(item.key, patch);
  return (
    <form
      className="form"
      onSubmit={(e) => {
        e.preventDefault();
        store.start(item.key);
      }}
    >
      <div className="field">
        <label htmlFor={`${id}-title`}>Title</label>
        <input id={`${id}-title`} required maxLength={200} value={draft.title} onChange={(e) => edit({ title: e.target.value })} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-description`}>Description</label>
        <textarea id={`${id}-description`} rows={3} maxLength={5000} value={draft.description} onChange={(e) => edit({ description: e.target.value })} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-tags`}>Tags</label>
        <input id={`${id}-tags`} aria-describedby={`${id}-tags-hint`} value={draft.tags} onChange={(e) => edit({ tags: e.target.value })} />
        <p id={`${id}-tags-hint`} className="hint">
          Separate tags with commas, e.g. <i>travel, cooking</i> (up to 20).
        </p>
      </div>
      <VisibilityField value={draft.visibility} onChange={(visibility) => edit({ visibility })} />
      {item.problems.length > 0 && (
        <div role="alert" className="error">
          <ul>
            {item.problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </div>
      )}
      <ErrorMessage>{item.error}</ErrorMessage>
      <div className="row">
        <button type="submit" className="primary">
          Start upload
        </button>
        <button type="button" onClick={() => store.remove(item.key)}>
          Remove
        </button>
      </div>
    </form>
  );
}

/** The word the status line shows (tests read it), and a sentence of detail. */
function statusOf(item: UploadItem): { word: string; detail?: string } {
  const phase = item.upload?.phase;
  switch (item.stage) {
    case 'interrupted':
      return { word: 'Interrupted', detail: 'This upload stopped before it finished. Resume it to send the rest.' };
    case 'uploading':
      switch (phase) {
        case 'paused':
          return { word: 'Paused' };
        case 'reconnecting':
          return {
            word: 'Reconnecting',
            detail: item.upload?.offline ? 'You are offline. The upload continues when the connection is back.' : 'The connection dropped. Retrying…',
          };
        case 'completing':
          return { word: 'Finishing upload' };
        case 'uploading':
          return { word: 'Uploading' };
        default:
          return { word: 'Starting upload' };
      }
    case 'processing':
      return item.processing?.status === 'processing'
        ? { word: 'Processing', detail: 'Preparing every quality for streaming.' }
        : { word: 'Waiting to process', detail: 'Uploaded. Processing starts in a moment.' };
    case 'ready':
      return { word: 'Ready' };
    case 'failed':
      return { word: 'Failed' };
    case 'cancelled':
      return { word: 'Cancelled' };
    default:
      return { word: '' };
  }
}

function Progress({ item, store }: { item: UploadItem; store: UploadStore }) {
  const name = item.file.name;
  const { word, detail } = statusOf(item);
  const upload = item.upload;
  const total = upload?.totalBytes ?? item.file.size;
  const sent = upload?.uploadedBytes ?? 0;
  const paused = upload?.phase === 'paused';
  return (
    <div className="progress-block">
      <p role="status" className={`status status-${item.stage}`}>
        {word}
        {item.stage === 'processing' && item.processing?.status === 'processing' ? ` ${percent(item.processing.progress)}` : ''}
      </p>
      {detail && <p className="detail">{detail}</p>}

      {item.stage === 'uploading' && (
        <>
          <progress max={total} value={sent} aria-label={`Upload progress of ${name}`} aria-valuetext={`${formatBytes(sent)} of ${formatBytes(total)}`} />
          <p className="numbers">
            <span>
              {formatBytes(sent)} of {formatBytes(total)}
            </span>
            {item.rate && item.rate.bytesPerSecond > 0 && !paused && (
              <>
                <span>{formatSpeed(item.rate.bytesPerSecond)}</span>
                {item.rate.secondsLeft !== undefined && <span>{formatTimeLeft(item.rate.secondsLeft)} left</span>}
              </>
            )}
          </p>
          <div className="row">
            {paused ? (
              <button type="button" className="primary" onClick={() => store.resume(item.key)}>
                Resume
              </button>
            ) : (
              <button type="button" onClick={() => store.pause(item.key)} disabled={upload?.phase === 'completing'}>
                Pause
              </button>
            )}
            <button type="button" onClick={() => void store.cancel(item.key)} disabled={upload?.phase === 'completing'}>
              Cancel
            </button>
          </div>
        </>
      )}

      {item.stage === 'interrupted' && (
        <div className="row">
          <button type="button" className="primary" onClick={() => store.resumeUpload(item.key)}>
            Resume
          </button>
          <button type="button" onClick={() => void store.discard(item.key)}>
            Discard
          </button>
        </div>
      )}

      {item.stage === 'processing' && (
        <progress
          max={1}
          value={item.processing?.progress ?? 0}
          aria-label={`Processing progress of ${name}`}
          aria-valuetext={percent(item.processing?.progress ?? 0)}
        />
      )}

      {item.stage === 'ready' && item.videoId && (
        <p className="row">
          <Link className="button primary" to={`/watch/${item.videoId}`}>
            Watch
          </Link>
          <Link to="/videos">Edit details</Link>
        </p>
      )}

      {item.stage === 'failed' && (
        <>
          <ErrorMessage>{item.error ?? 'Something went wrong.'}</ErrorMessage>
          <div className="row">
            {!item.processing && item.videoId && (
              <button type="button" className="primary" onClick={() => store.resumeUpload(item.key)}>
                Try again
              </button>
            )}
            <button type="button" onClick={() => store.remove(item.key)}>
              Remove
            </button>
          </div>
        </>
      )}

      {item.stage === 'cancelled' && (
        <button type="button" onClick={() => store.remove(item.key)}>
          Remove
        </button>
      )}
      {item.note && <p className="hint">{item.note}</p>}
    </div>
  );
}
