/**
 * What the playback benchmark runs inside the watch page (an init script, so it is in place before
 * the app's own code): it stamps the play click with `performance.now()` from a capture-phase
 * listener (which runs before React's handler calls `video.play()`), then waits for the first
 * frame the element presents after it (`requestVideoFrameCallback`; the first `timeupdate` with
 * `currentTime > 0` as a fallback, also recorded).
 *
 * Modes: `click` stamps the first click (the benchmark clicks with Playwright); `attach` clicks the
 * play control itself in the DOM change where hls.js gives the element its MediaSource `src` (the
 * manifest request is sent in the same task), as close as this app comes to attaching at the
 * click; `early` clicks as soon as the play control exists, attached or not.
 *
 * Self-contained: it runs from its source text, so it may not use anything from outside.
 */

/** One play click, as the page saw it (times are `performance.now()`, ms since navigation start). */
export interface ClickRecord {
  readonly clickAt: number;
  /** The element's state at the click. */
  readonly readyState: number;
  /** hls.js had attached the element (a MediaSource `src`). */
  readonly attached: boolean;
  readonly bufferedSeconds: number;
  /** First `requestVideoFrameCallback` after the click: when it ran and the frame's own times. */
  readonly frame?: { readonly callbackAt: number; readonly presentationTime: number; readonly expectedDisplayTime: number; readonly mediaTime: number };
  /** First `timeupdate` with `currentTime > 0`. */
  readonly timeupdateAt?: number;
  readonly playingAt?: number;
  /** Whether the browser has `requestVideoFrameCallback` at all. */
  readonly rvfc: boolean;
}

/** One Resource Timing entry, trimmed to what the report reads. */
export interface ResourceRecord {
  readonly name: string;
  readonly startTime: number;
  readonly requestStart: number;
  readonly responseStart: number;
  readonly responseEnd: number;
  readonly transferSize: number;
  readonly encodedBodySize: number;
  readonly decodedBodySize: number;
}

export type ClickMode = 'click' | 'attach' | 'early';

export interface ProbeOptions {
  readonly mode: ClickMode;
  /** The play control's accessible name (its `aria-label`). */
  readonly playName: string;
}

declare global {
  interface Window {
    __playbackBench?: {
      /** Resolves at the first `canplay` (readyState ≥ HAVE_FUTURE_DATA), with its time. */
      readonly ready: Promise<number>;
      /** Resolves once the first frame after the play click was presented (or, without rVFC, the first timeupdate). */
      readonly played: Promise<ClickRecord>;
      resources(): ResourceRecord[];
    };
  }
}

/**
 * The init script's text: `context.addInitScript({ content: probeScript(options) })`. tsx (esbuild
 * with `keepNames`) wraps named inner functions in a `__name(...)` helper that exists only in
 * Node, so the page gets a no-op one.
 */
export function probeScript(options: ProbeOptions): string {
  return `(() => { const __name = (f) => f; (${playbackProbe.toString()})(${JSON.stringify(options)}); })();`;
}

function playbackProbe({ mode, playName }: ProbeOptions): void {
  let armed = true;
  let onReady: (at: number) => void = () => undefined;
  let onPlayed: (record: ClickRecord) => void = () => undefined;
  const ready = new Promise<number>((resolve) => (onReady = resolve));
  const played = new Promise<ClickRecord>((resolve) => (onPlayed = resolve));

  const video = () => document.querySelector('video');
  /** hls.js has given the element its MediaSource (`src`, or a `<source>` child with ManagedMediaSource). */
  const attached = (element: HTMLVideoElement | null) => Boolean(element && (element.getAttribute('src') || element.querySelector('source')));
  const playButton = () =>
    [...document.querySelectorAll('button')].find((b) => (b.getAttribute('aria-label') ?? b.textContent ?? '').trim() === playName);

  // Media events do not bubble, but a capture listener on window sees them.
  window.addEventListener('canplay', () => onReady(performance.now()), { capture: true, once: true });

  const onClick = () => {
    if (!armed) return;
    const clickAt = performance.now();
    armed = false;
    observer.disconnect();
    const element = video();
    const buffered = element?.buffered;
    const record: { -readonly [K in keyof ClickRecord]: ClickRecord[K] } = {
      clickAt,
      readyState: element?.readyState ?? 0,
      attached: attached(element),
      bufferedSeconds: buffered && buffered.length ? buffered.end(buffered.length - 1) : 0,
      rvfc: Boolean(element && 'requestVideoFrameCallback' in element),
    };
    if (!element) return;
    if (record.rvfc) {
      element.requestVideoFrameCallback((_now, meta) => {
        record.frame = {
          callbackAt: performance.now(),
          presentationTime: meta.presentationTime,
          expectedDisplayTime: meta.expectedDisplayTime,
          mediaTime: meta.mediaTime,
        };
        onPlayed({ ...record });
      });
    }
    const onTime = () => {
      if (element.currentTime <= 0) return;
      record.timeupdateAt = performance.now();
      element.removeEventListener('timeupdate', onTime);
      if (!record.rvfc) onPlayed({ ...record });
    };
    element.addEventListener('timeupdate', onTime);
    element.addEventListener('playing', () => (record.playingAt ??= performance.now()), { once: true });
  };
  // Capture on window: before React's root listener runs the app's handler.
  window.addEventListener('click', onClick, true);

  // 'attach' and 'early' click from here, in the first DOM change that meets the condition.
  const observer = new MutationObserver(() => {
    const button = playButton();
    if (!button || (mode === 'attach' && !attached(video()))) return;
    button.click();
  });
  if (mode !== 'click') observer.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['src', 'aria-label'] });
  // Room for every playlist, segment and sprite of the run (the default buffer holds 250).
  performance.setResourceTimingBufferSize(2000);

  window.__playbackBench = {
    ready,
    played,
    resources: () =>
      (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).map((e) => ({
        name: e.name,
        startTime: e.startTime,
        requestStart: e.requestStart,
        responseStart: e.responseStart,
        responseEnd: e.responseEnd,
        transferSize: e.transferSize,
        encodedBodySize: e.encodedBodySize,
        decodedBodySize: e.decodedBodySize,
      })),
  };
}
