import type Hls from 'hls.js';
import { useCallback, useEffect, useId, useRef, useState, type CSSProperties, type KeyboardEvent, type PointerEvent } from 'react';
import type { StreamView } from '#contracts/api';
import { formatClock, spokenClock } from '../ui/format.ts';
import { ExitFullscreenIcon, FullscreenIcon, MutedIcon, PauseIcon, PlayIcon, VolumeIcon } from './icons.tsx';
import { parseStoryboard, tileAt, type StoryboardTile } from './storyboard.ts';

export interface PlayerProps {
  readonly stream: StreamView;
  /** What the video is (names the player for assistive technology). */
  readonly title: string;
  /**
   * The URLs expired or were refused (403): fetch fresh ones; the player continues from the same
   * position once `stream` changes.
   */
  readonly onExpired: () => Promise<void>;
  /** Frames are playing (each time playback starts or resumes after waiting). */
  readonly onPlaying?: () => void;
}

interface Quality {
  /** hls.js level index. */
  readonly index: number;
  readonly height: number;
  readonly bitrate: number;
}

/** Refreshes without a frame played in between, before giving up (access really revoked). */
const MAX_REFRESHES = 3;

/**
 * The video player: hls.js (or the browser's own HLS, as in Safari) with accessible controls —
 * play, a seek slider with storyboard previews, time, volume, quality (Auto or a fixed height)
 * and full screen.
 */
export function Player({ stream, title, onExpired, onPlaying }: PlayerProps) {
  const id = useId();
  const container = useRef<HTMLDivElement>(null);
  const video = useRef<HTMLVideoElement>(null);
  const hls = useRef<Hls | undefined>(undefined);
  /** Where to continue after the stream URLs were refreshed. */
  const resumeAt = useRef<{ time: number; playing: boolean } | undefined>(undefined);
  const refreshes = useRef(0);
  const refreshing = useRef(false);
  /** The height chosen in the menu (kept across refreshes), or undefined for Auto. */
  const chosenHeight = useRef<number | undefined>(undefined);

  const [qualities, setQualities] = useState<readonly Quality[]>([]);
  const [selected, setSelected] = useState(-1);
  const [playingHeight, setPlayingHeight] = useState<number>();
  const [playing, setPlaying] = useState(false);
  const [waiting, setWaiting] = useState(false);
  const [time, setTime] = useState(0);
  const [duration, setDuration] = useState(stream.durationSeconds);
  const [buffered, setBuffered] = useState(0);
  const [muted, setMuted] = useState(false);
  const [volume, setVolume] = useState(1);
  const [fullscreen, setFullscreen] = useState(false);
  const [error, setError] = useState<string>();
  const [tiles, setTiles] = useState<readonly StoryboardTile[]>([]);
  const [preview, setPreview] = useState<{ time: number; fraction: number }>();

  const expired = useRef(onExpired);
  useEffect(() => {
    expired.current = onExpired;
  }, [onExpired]);

  const refresh = useCallback(async () => {
    const element = video.current;
    if (refreshing.current || !element) return;
    if (++refreshes.current > MAX_REFRESHES) {
      setError('This video is no longer available to you.');
      return;
    }
    refreshing.current = true;
    resumeAt.current = { time: element.currentTime, playing: !element.paused };
    try {
      await expired.current();
    } catch {
      setError('The video cannot be loaded right now. Reload the page to try again.');
    } finally {
      refreshing.current = false;
    }
  }, []);

  // Attach the stream (again, with fresh URLs, at the same position).
  useEffect(() => {
    const element = video.current;
    if (!element) return;
    let cancelled = false;
    const resume = resumeAt.current;
    resumeAt.current = undefined;
    const expiresAt = Date.parse(stream.expiresAt);
    const continuePlaying = () => {
      if (resume?.playing) element.play().catch(() => undefined);
    };

    const attach = async () => {
      const { default: HlsJs } = await import('hls.js');
      if (cancelled) return;
      if (!HlsJs.isSupported()) {
        // Safari and iOS play HLS themselves (no quality menu beyond Auto).
        element.src = stream.hls;
        if (resume) element.currentTime = resume.time;
        continuePlaying();
        return;
      }
      const player = new HlsJs({ startPosition: resume?.time ?? -1, capLevelToPlayerSize: false });
      hls.current = player;
      player.on(HlsJs.Events.MANIFEST_PARSED, (_event, data) => {
        const levels = data.levels.map((level, index) => ({ index, height: level.height, bitrate: level.bitrate }));
        setQualities([...levels].sort((a, b) => b.height - a.height || b.bitrate - a.bitrate));
        const keep = chosenHeight.current === undefined ? undefined : levels.find((l) => l.height === chosenHeight.current);
        if (keep) player.currentLevel = keep.index;
        setSelected(keep?.index ?? -1);
        continuePlaying();
      });
      player.on(HlsJs.Events.LEVEL_SWITCHED, (_event, data) => setPlayingHeight(player.levels[data.level]?.height));
      player.on(HlsJs.Events.ERROR, (_event, data) => {
        const status = data.response?.code;
        // Expired or refused URLs: ask the API for fresh ones. (A refusal without CORS headers
        // reads as a network error, so an expired token is also judged by the clock.)
        if (status === 403 || (data.type === HlsJs.ErrorTypes.NETWORK_ERROR && data.fatal && Date.now() >= expiresAt - 5000)) {
          void refresh();
          return;
        }
        if (!data.fatal) return;
        if (data.type === HlsJs.ErrorTypes.MEDIA_ERROR) {
          player.recoverMediaError();
        } else if (data.type === HlsJs.ErrorTypes.NETWORK_ERROR) {
          setError('The connection to the video was lost. Retrying…');
          setTimeout(() => !cancelled && player.startLoad(element.currentTime || -1), 3000);
        } else {
          setError('This video cannot be played in this browser.');
          player.destroy();
        }
      });
      player.loadSource(stream.hls);
      player.attachMedia(element);
    };
    void attach();
    return () => {
      cancelled = true;
      hls.current?.destroy();
      hls.current = undefined;
    };
  }, [stream.hls, stream.expiresAt, refresh]);

  // Seek-bar previews.
  useEffect(() => {
    const controller = new AbortController();
    fetch(stream.storyboard, { signal: controller.signal })
      .then((response) => (response.ok ? response.text() : ''))
      .then((text) => {
        const parsed = parseStoryboard(text);
        setTiles(parsed);
        // Fetch the sprites now, so that the first hover over the seek bar shows a picture.
        for (const image of new Set(parsed.map((t) => t.image))) new Image().src = new URL(image, stream.storyboard).href;
      })
      .catch(() => undefined); // no previews, but the video plays
    return () => controller.abort();
  }, [stream.storyboard]);

  useEffect(() => {
    const onChange = () => setFullscreen(document.fullscreenElement === container.current);
    document.addEventListener('fullscreenchange', onChange);
    return () => document.removeEventListener('fullscreenchange', onChange);
  }, []);

  const togglePlay = () => {
    const element = video.current;
    if (!element) return;
    if (element.paused || element.ended) element.play().catch(() => undefined);
    else element.pause();
  };

  const seekTo = (seconds: number) => {
    const element = video.current;
    if (!element) return;
    element.currentTime = Math.min(Math.max(0, seconds), duration || element.duration || 0);
    setTime(element.currentTime);
  };

  const chooseQuality = (index: number) => {
    setSelected(index);
    const player = hls.current;
    chosenHeight.current = index < 0 ? undefined : player?.levels[index]?.height;
    // `currentLevel` switches now (dropping what is buffered), so the choice shows at once.
    if (player) player.currentLevel = index;
  };

  const toggleMute = () => {
    if (video.current) video.current.muted = !video.current.muted;
  };

  const toggleFullscreen = () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void container.current?.requestFullscreen().catch(() => undefined);
  };

  const onSeekKey = (event: KeyboardEvent<HTMLInputElement>) => {
    const step = { ArrowLeft: -5, ArrowDown: -5, ArrowRight: 5, ArrowUp: 5, PageDown: -duration / 10, PageUp: duration / 10 }[event.key];
    if (step !== undefined) {
      event.preventDefault();
      seekTo(time + step);
      setPreview({ time: time + step, fraction: (time + step) / (duration || 1) });
    } else if (event.key === 'Home' || event.key === 'End') {
      event.preventDefault();
      seekTo(event.key === 'Home' ? 0 : duration);
    }
  };

  const onPlayerKey = (event: KeyboardEvent<HTMLDivElement>) => {
    const target = event.target as HTMLElement;
    if (target.closest('input, select, button, textarea')) return;
    if (event.key === ' ' || event.key === 'k') {
      event.preventDefault();
      togglePlay();
    } else if (event.key === 'f') {
      toggleFullscreen();
    } else if (event.key === 'm') {
      toggleMute();
    } else if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
      event.preventDefault();
      seekTo(time + (event.key === 'ArrowLeft' ? -5 : 5));
    }
  };

  const previewAt = (event: PointerEvent<HTMLInputElement>) => {
    const rect = event.currentTarget.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width));
    setPreview({ time: fraction * duration, fraction });
  };

  const tile = preview ? tileAt(tiles, preview.time) : undefined;
  const half = Math.ceil((tile?.width ?? 48) / 2) + 2;
  const playedPercent = duration ? (time / duration) * 100 : 0;
  const bufferedPercent = duration ? (buffered / duration) * 100 : 0;
  const autoLabel = selected === -1 && playingHeight ? `Auto (${playingHeight}p)` : 'Auto';

  return (
    <div
      ref={container}
      className={fullscreen ? 'player fullscreen' : 'player'}
      role="region"
      aria-label={`Video player: ${title}`}
      onKeyDown={onPlayerKey}
    >
      <video
        ref={video}
        className="player-video"
        poster={stream.poster}
        playsInline
        preload="auto"
        aria-label={title}
        onClick={togglePlay}
        onDoubleClick={toggleFullscreen}
        onPlay={() => setPlaying(true)}
        onPause={() => setPlaying(false)}
        onWaiting={() => setWaiting(true)}
        onPlaying={() => {
          onPlaying?.();
          setWaiting(false);
          setError(undefined);
          refreshes.current = 0;
        }}
        onTimeUpdate={(e) => setTime(e.currentTarget.currentTime)}
        onDurationChange={(e) => {
          if (Number.isFinite(e.currentTarget.duration)) setDuration(e.currentTarget.duration);
        }}
        onProgress={(e) => {
          const ranges = e.currentTarget.buffered;
          setBuffered(ranges.length ? ranges.end(ranges.length - 1) : 0);
        }}
        onVolumeChange={(e) => {
          setMuted(e.currentTarget.muted);
          setVolume(e.currentTarget.volume);
        }}
      />
      {waiting && playing && (
        <div className="player-spinner" aria-hidden="true">
          <span />
        </div>
      )}
      {error && (
        <p className="player-error" role="alert">
          {error}
        </p>
      )}

      <div className="player-controls">
        <button type="button" className="icon-button" onClick={togglePlay} aria-label={playing ? 'Pause' : 'Play'}>
          {playing ? <PauseIcon /> : <PlayIcon />}
        </button>

        <div className="seek">
          {preview && (
            <div
              className="seek-preview"
              style={{ left: `clamp(${half}px, ${preview.fraction * 100}%, calc(100% - ${half}px))` }}
              aria-hidden="true"
            >
              {tile && (
                <div
                  className="seek-thumb"
                  style={{
                    width: tile.width,
                    height: tile.height,
                    backgroundImage: `url("${new URL(tile.image, stream.storyboard).href}")`,
                    backgroundPosition: `-${tile.x}px -${tile.y}px`,
                  }}
                />
              )}
              <span className="seek-time">{formatClock(preview.time)}</span>
            </div>
          )}
          <input
            type="range"
            className="seek-slider"
            aria-label="Seek"
            min={0}
            max={duration || 0}
            step="any"
            value={Math.min(time, duration || 0)}
            aria-valuetext={`${spokenClock(time)} of ${spokenClock(duration)}`}
            style={{ '--played': `${playedPercent}%`, '--buffered': `${bufferedPercent}%` } as CSSProperties}
            onChange={(e) => {
              const value = Number(e.target.value);
              seekTo(value);
              setPreview({ time: value, fraction: value / (duration || 1) });
            }}
            onKeyDown={onSeekKey}
            onPointerMove={previewAt}
            onPointerLeave={() => setPreview(undefined)}
            onBlur={() => setPreview(undefined)}
          />
        </div>

        <span className="time" aria-hidden="true">
          {formatClock(time)} / {formatClock(Math.round(duration))}
        </span>

        <button
          type="button"
          className="icon-button"
          aria-label={muted ? 'Unmute' : 'Mute'}
          onClick={toggleMute}
        >
          {muted || volume === 0 ? <MutedIcon /> : <VolumeIcon />}
        </button>
        <input
          type="range"
          className="volume"
          aria-label="Volume"
          min={0}
          max={1}
          step={0.05}
          value={muted ? 0 : volume}
          onChange={(e) => {
            if (!video.current) return;
            video.current.volume = Number(e.target.value);
            video.current.muted = Number(e.target.value) === 0;
          }}
        />

        <label htmlFor={`${id}-quality`} className="visually-hidden">
          Quality
        </label>
        <select id={`${id}-quality`} className="quality" value={selected} onChange={(e) => chooseQuality(Number(e.target.value))}>
          <option value={-1}>{autoLabel}</option>
          {qualities.map((q) => (
            <option key={q.index} value={q.index}>
              {q.height}p
            </option>
          ))}
        </select>

        <button type="button" className="icon-button" aria-label={fullscreen ? 'Exit full screen' : 'Full screen'} onClick={toggleFullscreen}>
          {fullscreen ? <ExitFullscreenIcon /> : <FullscreenIcon />}
        </button>
      </div>
    </div>
  );
}
