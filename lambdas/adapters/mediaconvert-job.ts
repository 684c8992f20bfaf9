import type { JobSettings, Output } from '@aws-sdk/client-mediaconvert';
import { z } from 'zod';
import { Rung } from '#contracts/workflow';
import { ValidationError } from '#domain/errors';

/**
 * What a MediaConvert job needs to know about one video. The workflow builds it from the state
 * (`$.rawKey`, `$.plan`) and hands it to the `MediaConvertSettings` task, which calls
 * {@link buildMediaConvertJob} and returns the result for the `.sync` CreateJob task.
 */
export const MediaConvertJobInput = z.object({
  /** The original upload, `s3://<raw bucket>/<key>`. */
  input: z.string().regex(/^s3:\/\/[^/]+\/.+$/, 'expected s3://bucket/key'),
  /** The video's folder in the media bucket, `s3://<media bucket>/videos/<id>/` (ends with `/`). */
  outputPrefix: z.string().regex(/^s3:\/\/[^/]+\/(?:.+\/)?$/, 'expected s3://bucket/prefix/'),
  /** The ladder from the plan: never taller than the source, display orientation. */
  rungs: z.array(Rung).min(1),
  /** CMAF segment (and GOP) length, seconds. */
  segmentSeconds: z.number().positive(),
  /** Whether the source has audio to encode (a video-only source gets no audio output). */
  audio: z.boolean(),
});
export type MediaConvertJobInput = z.infer<typeof MediaConvertJobInput>;

/** A MediaConvert job for one video: its `Settings`, and where it writes the manifests. */
export interface MediaConvertJob {
  readonly settings: JobSettings;
  /** Media-bucket keys of the manifests the job writes (the shape the Package step returns). */
  readonly manifests: { readonly hlsMaster: string; readonly dash: string };
}

/** The audio rendition group every video output refers to (HLS `GROUP-ID`). */
const AUDIO_GROUP = 'audio';
const AUDIO_SELECTOR = 'Audio Selector 1';
/** Base name of the manifests (and segments) under `<outputPrefix>hls/`. */
const MANIFEST_BASE = 'hls/master';

/** Parses an untrusted task input; a bad one is a `ValidationError` (permanent: not retried). */
export function parseMediaConvertJobInput(input: unknown): MediaConvertJobInput {
  const parsed = MediaConvertJobInput.safeParse(input);
  if (!parsed.success) {
    throw new ValidationError('invalid MediaConvert job input', {
      details: parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`),
    });
  }
  return parsed.data;
}

/**
 * Builds the MediaConvert job for one video (pure). One CMAF output group writes fMP4 segments
 * once and both an HLS master playlist and a DASH MPD over them, at
 * `<outputPrefix>hls/master.m3u8` and `<outputPrefix>hls/master.mpd`; segments and media playlists
 * sit beside them, named `master_<rung>…` and `master_audio…`. Each rung is one H.264 High output
 * with closed GOPs exactly one segment long (so every rendition switches at the same boundaries),
 * capped VBR at the rung's bitrates; audio is one AAC-LC stereo output in its own rendition group.
 * The input is rotated as its display matrix says, so portrait sources stay portrait.
 */
export function buildMediaConvertJob(input: MediaConvertJobInput): MediaConvertJob {
  const { input: source, outputPrefix, rungs, segmentSeconds, audio } = parseMediaConvertJobInput(input);
  const names = new Set<string>();
  for (const rung of rungs) {
    if (!/^[A-Za-z0-9_-]+$/.test(rung.name)) throw new ValidationError(`rung name "${rung.name}" cannot be part of a file name`);
    if (names.has(rung.name)) throw new ValidationError(`rung "${rung.name}" appears twice`);
    names.add(rung.name);
    if (rung.width % 2 !== 0 || rung.height % 2 !== 0) {
      throw new ValidationError(`rung "${rung.name}" is ${rung.width}x${rung.height}: H.264 4:2:0 needs even dimensions`);
    }
  }

  const outputs: Output[] = rungs.map((rung) => videoOutput(rung, segmentSeconds));
  if (audio) outputs.push(audioOutput());

  const settings: JobSettings = {
    TimecodeConfig: { Source: 'ZEROBASED' },
    Inputs: [
      {
        FileInput: source,
        TimecodeSource: 'ZEROBASED',
        VideoSelector: { Rotate: 'AUTO' },
        ...(audio ? { AudioSelectors: { [AUDIO_SELECTOR]: { DefaultSelection: 'DEFAULT' } } } : {}),
      },
    ],
    OutputGroups: [
      {
        Name: 'CMAF',
        OutputGroupSettings: {
          Type: 'CMAF_GROUP_SETTINGS',
          CmafGroupSettings: {
            Destination: `${outputPrefix}${MANIFEST_BASE}`,
            SegmentLength: segmentSeconds,
            FragmentLength: segmentSeconds,
            SegmentControl: 'SEGMENTED_FILES',
            SegmentLengthControl: 'EXACT',
            WriteHlsManifest: 'ENABLED',
            WriteDashManifest: 'ENABLED',
            MpdProfile: 'MAIN_PROFILE',
            ManifestDurationFormat: 'FLOATING_POINT',
            StreamInfResolution: 'INCLUDE',
            CodecSpecification: 'RFC_6381',
            ClientCache: 'ENABLED',
            ManifestCompression: 'NONE',
            WriteSegmentTimelineInRepresentation: 'ENABLED',
          },
        },
        Outputs: outputs,
      },
    ],
  };

  const keyPrefix = outputPrefix.replace(/^s3:\/\/[^/]+\//, '');
  return {
    settings,
    manifests: { hlsMaster: `${keyPrefix}${MANIFEST_BASE}.m3u8`, dash: `${keyPrefix}${MANIFEST_BASE}.mpd` },
  };
}

function videoOutput(rung: Rung, segmentSeconds: number): Output {
  return {
    NameModifier: `_${rung.name}`,
    ContainerSettings: { Container: 'CMFC', CmfcSettings: { AudioRenditionSets: AUDIO_GROUP } },
    VideoDescription: {
      Width: rung.width,
      Height: rung.height,
      ScalingBehavior: 'DEFAULT',
      AntiAlias: 'ENABLED',
      Sharpness: 50,
      CodecSettings: {
        Codec: 'H_264',
        H264Settings: {
          CodecProfile: 'HIGH',
          CodecLevel: 'AUTO',
          RateControlMode: 'VBR',
          Bitrate: rung.videoBitrate,
          MaxBitrate: rung.maxBitrate,
          HrdBufferSize: 2 * rung.maxBitrate,
          // Closed GOPs exactly one segment long: every rendition cuts at the same instants.
          GopSize: segmentSeconds,
          GopSizeUnits: 'SECONDS',
          GopClosedCadence: 1,
          // Scene cuts get I-frames without restarting the GOP cadence.
          SceneChangeDetect: 'TRANSITION_DETECTION',
          NumberBFramesBetweenReferenceFrames: 2,
          InterlaceMode: 'PROGRESSIVE',
          FramerateControl: 'INITIALIZE_FROM_SOURCE',
          ParControl: 'SPECIFIED',
          ParNumerator: 1,
          ParDenominator: 1,
          QualityTuningLevel: 'MULTI_PASS_HQ',
          AdaptiveQuantization: 'AUTO',
        },
      },
    },
  };
}

function audioOutput(): Output {
  return {
    NameModifier: '_audio',
    ContainerSettings: { Container: 'CMFC', CmfcSettings: { AudioGroupId: AUDIO_GROUP } },
    AudioDescriptions: [
      {
        AudioSourceName: AUDIO_SELECTOR,
        CodecSettings: {
          Codec: 'AAC',
          AacSettings: {
            CodecProfile: 'LC',
            CodingMode: 'CODING_MODE_2_0',
            RateControlMode: 'CBR',
            Bitrate: 128_000,
            SampleRate: 48_000,
          },
        },
      },
    ],
  };
}
