import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaLayout, type ChunkTask, type JobState, type Plan, type Probe } from '#contracts/workflow';
import { frameRateText, outputFrameRate, validateProbe } from '#domain/media';
import { MEDIA_PLAYLIST, measureBitrates, packageManifests, type MediaSegment, type PackagedAudio, type PackagedVideo } from '#domain/packaging';
import { ValidationError } from '#domain/errors';
import type { PublishedMedia } from '#domain/video';
import { transcodeAudio } from './ffmpeg/audio.ts';
import { probeMedia } from './ffmpeg/probe.ts';
import { makeThumbnails } from './ffmpeg/thumbnails.ts';
import { transcodeChunk } from './ffmpeg/transcode.ts';
import type { S3MediaFiles } from './s3-media-files.ts';

/** What a chunk leaves for Package, per rung (kept in S3: a Map's results must stay small). */
interface ChunkSummary {
  readonly index: number;
  readonly renditions: {
    readonly name: string;
    readonly initSha256: string;
    readonly codecs: string;
    readonly segments: MediaSegment[];
  }[];
}

interface AudioSummary {
  readonly codecs: string;
  readonly channels: number;
  readonly sampleRate: number;
  readonly segments: MediaSegment[];
}

const workKey = (videoId: string, generation: number, name: string) => `${MediaLayout.prefix(videoId)}work/g${generation}/${name}.json`;

/**
 * The workflow's media tasks on ffmpeg: each reads the source through a short-lived URL, works in
 * a private temp folder, uploads what it made under `videos/<id>/`, and cleans up — so a retried
 * task starts from nothing and overwrites the same keys.
 */
export class FfmpegTranscodeTasks {
  constructor(private readonly files: S3MediaFiles) {}

  async probe(job: JobState): Promise<Probe> {
    const source = await this.files.sourceUrl(job.rawKey);
    const probe = await probeMedia(source);
    validateProbe(probe);
    const { streamCount: _streams, ...contract } = probe;
    return contract;
  }

  async transcodeChunk(task: ChunkTask): Promise<{ index: number; segments: number }> {
    return this.inTemp(async (dir) => {
      const output = await transcodeChunk({
        input: await this.files.sourceUrl(task.rawKey),
        chunk: task.chunk,
        plan: task.plan,
        fps: task.fps,
        outDir: dir,
      });
      const summary: ChunkSummary = { index: task.chunk.index, renditions: [] };
      const uploads: { path: string; key: string }[] = [];
      for (const rendition of output.renditions) {
        const prefix = MediaLayout.rendition(task.videoId, rendition.rung.name);
        for (const segment of rendition.segments) uploads.push({ path: segment.path, key: `${prefix}${segment.uri}` });
        // Every chunk writes the same init segment (checked in Package by its hash).
        if (task.chunk.index === 0) uploads.push({ path: rendition.init.path, key: `${prefix}init.mp4` });
        summary.renditions.push({
          name: rendition.rung.name,
          initSha256: rendition.init.sha256,
          codecs: rendition.codecs,
          segments: rendition.segments.map(({ uri, duration, bytes }) => ({ uri, duration, bytes })),
        });
      }
      await this.files.putFiles(uploads);
      await this.files.putText(workKey(task.videoId, task.generation, `chunk-${task.chunk.index}`), JSON.stringify(summary));
      return { index: task.chunk.index, segments: summary.renditions[0]?.segments.length ?? 0 };
    });
  }

  async transcodeAudio(job: JobState & { plan: Plan; probe: Probe }): Promise<{ audio: boolean }> {
    if (!job.plan.audio) return { audio: false };
    return this.inTemp(async (dir) => {
      const output = await transcodeAudio({
        input: await this.files.sourceUrl(job.rawKey),
        outDir: dir,
        segmentSeconds: job.plan.segmentSeconds,
        durationSeconds: job.probe.durationSeconds,
      });
      if (!output) return { audio: false };
      const prefix = MediaLayout.audio(job.videoId);
      await this.files.putFiles([
        { path: output.init.path, key: `${prefix}init.mp4` },
        ...output.segments.map((segment) => ({ path: segment.path, key: `${prefix}${segment.uri}` })),
      ]);
      const summary: AudioSummary = {
        codecs: output.codecs,
        channels: output.channels,
        sampleRate: output.sampleRate,
        segments: output.segments.map(({ uri, duration, bytes }) => ({ uri, duration, bytes })),
      };
      await this.files.putText(workKey(job.videoId, job.generation, 'audio'), JSON.stringify(summary));
      return { audio: true };
    });
  }

  /** Stitches the chunks' segments into one media playlist per rung, then the master and the MPD. */
  async package(job: JobState & { plan: Plan; probe: Probe }): Promise<Pick<PublishedMedia, 'hlsMaster' | 'dashManifest' | 'renditions' | 'durationSeconds'>> {
    const { videoId, generation, plan, probe } = job;
    const chunks = await Promise.all(
      plan.chunks.map(async (c) => JSON.parse(await this.files.getText(workKey(videoId, generation, `chunk-${c.index}`))) as ChunkSummary),
    );
    chunks.sort((a, b) => a.index - b.index);
    const rate = outputFrameRate(probe.fps);
    const video: PackagedVideo[] = plan.rungs.map((rung) => {
      const parts = chunks.map((c) => c.renditions.find((r) => r.name === rung.name));
      if (parts.some((p) => !p)) throw new ValidationError(`rung ${rung.name} is missing from a chunk`);
      const hashes = new Set(parts.map((p) => p!.initSha256));
      if (hashes.size !== 1) throw new ValidationError(`rung ${rung.name}: chunks disagree on the init segment, so they cannot be stitched`);
      return {
        name: rung.name,
        width: rung.width,
        height: rung.height,
        fps: rate.num / rate.den,
        frameRate: frameRateText(rate),
        codecs: parts[0]!.codecs,
        segments: parts.flatMap((p) => p!.segments),
      };
    });

    let audio: PackagedAudio | undefined;
    if (plan.audio) {
      try {
        audio = JSON.parse(await this.files.getText(workKey(videoId, generation, 'audio'))) as AudioSummary;
      } catch {
        audio = undefined; // the source's audio track could not be encoded: publish video-only
      }
    }

    const durationSeconds = video[0]?.segments.reduce((sum, s) => sum + s.duration, 0) ?? probe.durationSeconds;
    const manifests = packageManifests({ durationSeconds, segmentSeconds: plan.segmentSeconds, video, ...(audio ? { audio } : {}) });
    for (const playlist of manifests.mediaPlaylists) {
      const folder = playlist.rendition === 'audio' ? MediaLayout.audio(videoId) : MediaLayout.rendition(videoId, playlist.rendition);
      await this.files.putText(`${folder}${MEDIA_PLAYLIST}`, playlist.text);
    }
    const hlsMaster = MediaLayout.hlsMaster(videoId);
    const dash = MediaLayout.dashManifest(videoId);
    await this.files.putText(hlsMaster, manifests.master);
    await this.files.putText(dash, manifests.mpd);
    return {
      hlsMaster,
      dashManifest: dash,
      durationSeconds,
      renditions: video.map((v) => ({ name: v.name, width: v.width, height: v.height, bandwidth: measureBitrates(v.segments).peak })),
    };
  }

  async thumbnails(job: JobState & { probe: Probe }): Promise<Pick<PublishedMedia, 'poster' | 'candidates' | 'storyboard' | 'storyboardVtt'>> {
    return this.inTemp(async (dir) => {
      const made = await makeThumbnails({
        input: await this.files.sourceUrl(job.rawKey),
        durationSeconds: job.probe.durationSeconds,
        outDir: dir,
      });
      const id = job.videoId;
      const candidates = made.candidates.map((_, i) => MediaLayout.candidate(id, i + 1));
      // putFiles settles every upload before it throws: the temp dir goes right after.
      await this.files.putFiles([
        { path: made.poster, key: MediaLayout.poster(id) },
        ...made.candidates.map((path, i) => ({ path, key: candidates[i]! })),
        { path: made.storyboard.image, key: MediaLayout.storyboard(id) },
        { path: made.storyboard.vtt, key: MediaLayout.storyboardVtt(id) },
      ]);
      return { poster: MediaLayout.poster(id), candidates, storyboard: MediaLayout.storyboard(id), storyboardVtt: MediaLayout.storyboardVtt(id) };
    });
  }

  private async inTemp<T>(work: (dir: string) => Promise<T>): Promise<T> {
    const dir = join(tmpdir(), `vodstack-${randomUUID()}`);
    await mkdir(dir, { recursive: true });
    try {
      return await work(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
