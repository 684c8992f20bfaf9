import type { Output } from '@aws-sdk/client-mediaconvert';
import { describe, expect, it } from 'vitest';
import { buildMediaConvertJob, parseMediaConvertJobInput, type MediaConvertJobInput } from '#adapters/mediaconvert-job';
import type { Rung } from '#contracts/workflow';

const ladder: Rung[] = [
  { name: '144p', width: 256, height: 144, videoBitrate: 150_000, maxBitrate: 200_000 },
  { name: '360p', width: 640, height: 360, videoBitrate: 800_000, maxBitrate: 1_100_000 },
  { name: '720p', width: 1280, height: 720, videoBitrate: 3_000_000, maxBitrate: 4_200_000 },
];

const job = (overrides: Partial<MediaConvertJobInput> = {}) =>
  buildMediaConvertJob({
    input: 's3://raw-bucket/uploads/v1/source.mov',
    outputPrefix: 's3://media-bucket/videos/v1/',
    rungs: ladder,
    segmentSeconds: 6,
    audio: true,
    ...overrides,
  });

function cmafGroup(result = job()) {
  const group = result.settings.OutputGroups?.[0];
  if (!group) throw new Error('no output group');
  return group;
}

const videoOutputs = (outputs: Output[] = cmafGroup().Outputs ?? []) => outputs.filter((o) => o.VideoDescription);
const audioOutputs = (outputs: Output[] = cmafGroup().Outputs ?? []) => outputs.filter((o) => o.AudioDescriptions);

describe('buildMediaConvertJob', () => {
  it('reads the original and writes one CMAF group with both an HLS master and a DASH MPD under the video folder', () => {
    const result = job();
    expect(result.settings.Inputs).toHaveLength(1);
    expect(result.settings.Inputs?.[0]?.FileInput).toBe('s3://raw-bucket/uploads/v1/source.mov');
    expect(result.settings.OutputGroups).toHaveLength(1);
    const cmaf = cmafGroup(result).OutputGroupSettings;
    expect(cmaf?.Type).toBe('CMAF_GROUP_SETTINGS');
    expect(cmaf?.CmafGroupSettings).toMatchObject({
      Destination: 's3://media-bucket/videos/v1/hls/master',
      WriteHlsManifest: 'ENABLED',
      WriteDashManifest: 'ENABLED',
    });
    expect(result.manifests).toEqual({ hlsMaster: 'videos/v1/hls/master.m3u8', dash: 'videos/v1/hls/master.mpd' });
  });

  it('makes exactly one H.264 High output per rung, at the rung size and bitrates', () => {
    const outputs = videoOutputs();
    expect(outputs.map((o) => o.NameModifier)).toEqual(['_144p', '_360p', '_720p']);
    outputs.forEach((output, i) => {
      const rung = ladder[i]!;
      expect(output.ContainerSettings?.Container).toBe('CMFC');
      expect(output.VideoDescription).toMatchObject({ Width: rung.width, Height: rung.height });
      expect(output.VideoDescription?.CodecSettings?.Codec).toBe('H_264');
      expect(output.VideoDescription?.CodecSettings?.H264Settings).toMatchObject({
        CodecProfile: 'HIGH',
        RateControlMode: 'VBR',
        Bitrate: rung.videoBitrate,
        MaxBitrate: rung.maxBitrate,
      });
    });
  });

  it('never adds a rung the plan did not ask for (a 360p source gets no 720p)', () => {
    const outputs = videoOutputs(cmafGroup(job({ rungs: ladder.slice(0, 2) })).Outputs);
    expect(outputs.map((o) => o.VideoDescription?.Height)).toEqual([144, 360]);
  });

  it('cuts closed GOPs of exactly one segment, the same in every rendition, so renditions switch at segment boundaries', () => {
    const result = job({ segmentSeconds: 4 });
    const cmaf = cmafGroup(result).OutputGroupSettings?.CmafGroupSettings;
    expect(cmaf).toMatchObject({ SegmentLength: 4, FragmentLength: 4, SegmentControl: 'SEGMENTED_FILES' });
    for (const output of videoOutputs(cmafGroup(result).Outputs)) {
      expect(output.VideoDescription?.CodecSettings?.H264Settings).toMatchObject({ GopSize: 4, GopSizeUnits: 'SECONDS', GopClosedCadence: 1 });
    }
  });

  it('encodes audio once, as AAC in its own rendition group that every video output refers to', () => {
    const [audio, ...more] = audioOutputs();
    expect(more).toEqual([]);
    expect(audio?.AudioDescriptions?.[0]?.CodecSettings).toMatchObject({ Codec: 'AAC', AacSettings: { CodecProfile: 'LC' } });
    const group = audio?.ContainerSettings?.CmfcSettings?.AudioGroupId;
    expect(group).toBeTruthy();
    for (const video of videoOutputs()) expect(video.ContainerSettings?.CmfcSettings?.AudioRenditionSets).toBe(group);
    expect(job().settings.Inputs?.[0]?.AudioSelectors).toBeDefined();
  });

  it('makes no audio output (and selects no audio) for a video-only source', () => {
    const result = job({ audio: false });
    expect(audioOutputs(cmafGroup(result).Outputs)).toEqual([]);
    expect(result.settings.Inputs?.[0]?.AudioSelectors).toBeUndefined();
    expect(videoOutputs(cmafGroup(result).Outputs)).toHaveLength(3);
  });

  it('rotates the input as its display matrix says, so portrait sources stay portrait', () => {
    const portrait: Rung[] = [{ name: '720p', width: 720, height: 1280, videoBitrate: 3_000_000, maxBitrate: 4_200_000 }];
    const result = job({ rungs: portrait });
    expect(result.settings.Inputs?.[0]?.VideoSelector?.Rotate).toBe('AUTO');
    expect(videoOutputs(cmafGroup(result).Outputs)[0]?.VideoDescription).toMatchObject({ Width: 720, Height: 1280 });
  });

  it('rejects input it cannot turn into a valid job, as a ValidationError (not retried by the workflow)', () => {
    const cases: Partial<MediaConvertJobInput>[] = [
      { rungs: [] },
      { input: 'https://example.com/x.mp4' },
      { outputPrefix: 's3://media-bucket/videos/v1' },
      { segmentSeconds: 0 },
      { rungs: [ladder[0]!, ladder[0]!] },
      { rungs: [{ ...ladder[0]!, name: '../etc' }] },
      { rungs: [{ ...ladder[0]!, width: 255 }] },
    ];
    for (const bad of cases) {
      expect(() => job(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ name: 'ValidationError' }));
    }
  });

  it('parses a task input and names every bad field', () => {
    expect(() => parseMediaConvertJobInput({ input: 's3://b/k' })).toThrow(
      expect.objectContaining({ name: 'ValidationError', details: expect.arrayContaining([expect.stringMatching(/^rungs:/), expect.stringMatching(/^outputPrefix:/)]) }),
    );
  });

  it('is pure: the same input gives the same job', () => {
    expect(job()).toEqual(job());
  });
});
