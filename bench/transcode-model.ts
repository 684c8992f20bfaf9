/**
 * The printed model of the transcode benchmark: a 1-hour 1080p source on Lambda (6-vCPU chunk
 * workers, N chunks of C seconds), built from what this machine measured plus stated
 * assumptions, with the arithmetic shown.
 */

/** Prices (us-east-1, x86) and platform facts. */
export const PRICES = {
  lambdaGbSecond: 0.0000166667,
  lambdaRequest: 0.0000002,
  sfnTransition: 0.000025,
  /** Not in the issue's list; S3 Standard PUT, for completeness. */
  s3Put: 0.005 / 1000,
} as const;

export interface Assumptions {
  readonly vcpus: number;
  readonly chunkMemoryGb: number;
  readonly parallelEfficiency: number;
  readonly vcpuSpeed: number;
  readonly coldStartSeconds: number;
  readonly s3StreamBytesPerSecond: number;
  readonly s3GetSeconds: number;
  readonly s3PutSeconds: number;
  readonly transitionSeconds: number;
  readonly mapConcurrency: number;
  readonly sourceGopSeconds: number;
  readonly keyframeDecodeCpuSeconds: number;
  readonly memoryGb: { readonly claim: number; readonly probe: number; readonly plan: number; readonly audio: number; readonly package: number; readonly thumbnails: number; readonly publish: number };
}

/** Stated assumptions; each is printed. */
export const ASSUMPTIONS: Assumptions = {
  vcpus: 6,
  chunkMemoryGb: 10240 / 1024,
  /** Share of 6 vCPUs one 4-rung ffmpeg process keeps busy (decode, 4 scalers, 4 x264 with frame threads). */
  parallelEfficiency: 0.75,
  /** One Lambda x86 vCPU against one core of this machine. */
  vcpuSpeed: 1.0,
  /** Cold start of a function with the ffmpeg layer; paid once per task (workers of later Map waves are warm). */
  coldStartSeconds: 1.0,
  /** One sequential HTTP stream between Lambda and S3 (ffmpeg reads the source through one). */
  s3StreamBytesPerSecond: 80e6,
  /** A new ranged GET: ffmpeg 4.1 opens a new connection for each seek it cannot read through (TCP + TLS + first byte). */
  s3GetSeconds: 0.05,
  /** Latency of one PutObject; the tasks upload segments one after another. */
  s3PutSeconds: 0.03,
  /** Step Functions latency per state transition on the critical path. */
  transitionSeconds: 0.05,
  /** Inline Map: at most 40 iterations run at once. */
  mapConcurrency: 40,
  /** Keyframe interval of a camera source (phones: 1-2 s); thumbnails decode keyframes only beyond 120 s. */
  sourceGopSeconds: 2,
  /** CPU-seconds to decode one 1080p keyframe. */
  keyframeDecodeCpuSeconds: 0.012,
  /** Memory of the other tasks, GB (from the construct). */
  memoryGb: { claim: 0.5, probe: 2, plan: 0.5, audio: 3008 / 1024, package: 3008 / 1024, thumbnails: 3008 / 1024, publish: 0.5 },
};

/** A pessimistic set for the sensitivity line: slower vCPUs, worse threading, half the S3 stream rate, slower cold starts. */
export const PESSIMISTIC: Partial<Assumptions> = { parallelEfficiency: 0.6, vcpuSpeed: 0.8, s3StreamBytesPerSecond: 40e6, coldStartSeconds: 3, s3PutSeconds: 0.06, s3GetSeconds: 0.1 };

/** What the local runs measured, per source. */
export interface ModelInputs {
  readonly label: string;
  /** Chunk ffmpeg CPU = fixedCpu + perVideoSecondCpu × chunk seconds (fit over the local chunks). */
  readonly chunkFixedCpu: number;
  readonly chunkCpuPerVideoSecond: number;
  /** The audio task's ffmpeg CPU per video second (demux of the whole file + AAC, one thread). */
  readonly audioCpuPerVideoSecond: number;
  /** Bytes the audio and thumbnails ffmpegs read over HTTP, as a fraction of the source, and their ranged requests (measured). */
  readonly audioReadFraction: number;
  /** Ranged requests beyond the first three (open, header, moov), per video second. */
  readonly audioRequestsPerVideoSecond: number;
  /**
   * Thumbnails: one full pass (the storyboard input demuxes every video packet, keyframes only are
   * decoded past 120 s) plus what the three seek inputs read before they stop, a fixed amount.
   */
  readonly thumbnailsExcessBytes: number;
  readonly thumbnailsRequests: number;
  /** Whether the measured workflow ran Thumbnails beside the chunks (a Parallel branch) or after Package. */
  readonly thumbnailsBesideMap: boolean;
  /** Source and output sizes. */
  readonly sourceBytesPerSecond: number;
  readonly videoOutputBytesPerSecond: number;
  readonly rungs: number;
  readonly segmentSeconds: number;
  /** Local task times, seconds (no ffmpeg heavy lifting in them, so they carry over). */
  readonly claimSeconds: number;
  readonly probeSeconds: number;
  readonly planSeconds: number;
  readonly packageSeconds: number;
  readonly publishSeconds: number;
}

const f = (n: number, d = 1) => n.toFixed(d);
const usd = (n: number) => `$${n.toFixed(4)}`;

interface Scenario {
  readonly chunkSeconds: number;
  readonly chunks: number;
  readonly waves: number;
  readonly chunkCpu: number;
  readonly encode: number;
  readonly chunkUpload: number;
  readonly chunkWall: number;
  readonly map: number;
  readonly audioEncode: number;
  readonly audioRead: number;
  readonly audioUpload: number;
  readonly audio: number;
  readonly before: number;
  readonly pack: number;
  readonly thumbRead: number;
  readonly thumbDecode: number;
  readonly thumbnails: number;
  readonly parallel: number;
  readonly transitions: number;
  readonly wall: number;
  readonly cost: { chunks: number; others: number; requests: number; transitions: number; s3: number; total: number };
}

export function scenario(m: ModelInputs, chunkSeconds: number, duration = 3600, over: Partial<Assumptions> = {}): Scenario {
  const a: Assumptions = { ...ASSUMPTIONS, ...over };
  const chunks = Math.ceil(duration / chunkSeconds);
  const waves = Math.ceil(chunks / a.mapConcurrency);
  const chunkCpu = m.chunkFixedCpu + m.chunkCpuPerVideoSecond * chunkSeconds;
  const encode = chunkCpu / (a.vcpus * a.parallelEfficiency * a.vcpuSpeed);
  const segmentsPerChunk = Math.ceil(chunkSeconds / m.segmentSeconds) * m.rungs;
  const chunkUpload = segmentsPerChunk * a.s3PutSeconds + (chunkSeconds * m.videoOutputBytesPerSecond) / a.s3StreamBytesPerSecond;
  const chunkWall = encode + chunkUpload;
  const map = a.coldStartSeconds + waves * chunkWall;
  const sourceBytes = duration * m.sourceBytesPerSecond;
  const audioEncode = (duration * m.audioCpuPerVideoSecond) / a.vcpuSpeed;
  const audioRead = (m.audioReadFraction * sourceBytes) / a.s3StreamBytesPerSecond + (3 + duration * m.audioRequestsPerVideoSecond) * a.s3GetSeconds;
  const audioUpload = Math.ceil(duration / m.segmentSeconds) * a.s3PutSeconds;
  const audio = a.coldStartSeconds + Math.max(audioEncode, audioRead) + audioUpload;
  const before = m.claimSeconds + m.probeSeconds + a.coldStartSeconds + m.planSeconds;
  const pack = Math.max(m.packageSeconds, 7 * a.s3PutSeconds + 0.2);
  const thumbRead = (sourceBytes + m.thumbnailsExcessBytes) / a.s3StreamBytesPerSecond + m.thumbnailsRequests * a.s3GetSeconds;
  const thumbDecode = ((duration / a.sourceGopSeconds) * a.keyframeDecodeCpuSeconds) / (a.vcpus * a.parallelEfficiency);
  const thumbnails = a.coldStartSeconds + Math.max(thumbRead, thumbDecode) + 6 * a.s3PutSeconds;
  // Claim, Probe, Plan, Transcode (Parallel), Chunks (Map), N × TranscodeChunk, TranscodeAudio, Package, Thumbnails, Publish.
  const transitions = chunks + 9;
  const critical = 9; // states one after another on the longest path
  const parallel = Math.max(map, audio, m.thumbnailsBesideMap ? thumbnails : 0);
  const wall = before + parallel + pack + (m.thumbnailsBesideMap ? 0 : thumbnails) + m.publishSeconds + critical * a.transitionSeconds;
  const chunkGbS = chunks * (chunkWall + a.coldStartSeconds) * a.chunkMemoryGb;
  const otherGbS =
    m.claimSeconds * a.memoryGb.claim +
    (m.probeSeconds + a.coldStartSeconds) * a.memoryGb.probe +
    m.planSeconds * a.memoryGb.plan +
    audio * a.memoryGb.audio +
    pack * a.memoryGb.package +
    thumbnails * a.memoryGb.thumbnails +
    m.publishSeconds * a.memoryGb.publish;
  const requests = (chunks + 7) * PRICES.lambdaRequest;
  const puts = chunks * segmentsPerChunk + chunks + Math.ceil(duration / m.segmentSeconds) + 20;
  const cost = {
    chunks: chunkGbS * PRICES.lambdaGbSecond,
    others: otherGbS * PRICES.lambdaGbSecond,
    requests,
    transitions: transitions * PRICES.sfnTransition,
    s3: puts * PRICES.s3Put,
    total: 0,
  };
  cost.total = cost.chunks + cost.others + cost.requests + cost.transitions + cost.s3;
  return { chunkSeconds, chunks, waves, chunkCpu, encode, chunkUpload, chunkWall, map, audioEncode, audioRead, audioUpload, audio, before, pack, thumbRead, thumbDecode, thumbnails, parallel, transitions, wall, cost };
}

/** Which branch of the Parallel ends last, and by how much. */
function critical(m: ModelInputs, s: Scenario): string {
  const branches: [string, number][] = [
    ['Map', s.map],
    ['audio', s.audio],
    ...(m.thumbnailsBesideMap ? ([['thumbnails', s.thumbnails]] as [string, number][]) : []),
  ];
  branches.sort((x, y) => y[1] - x[1]);
  const [first, second] = branches;
  return `${first![0]} (${f(first![1], 1)} s) ends the Parallel${second ? `, ${f(first![1] - second[1], 1)} s after ${second[0]}` : ''}`;
}

/** The model as printed lines: assumptions, a table over chunk lengths, then one worked example. */
export function modelReport(inputs: readonly ModelInputs[], table: (header: string[], rows: string[][]) => string, candidates = [30, 60, 90, 120, 180]): string[] {
  const a = ASSUMPTIONS;
  const out: string[] = [];
  out.push(
    'Assumptions (stated, not measured):',
    `  chunk worker 10,240 MB = ${a.vcpus} vCPUs = ${a.chunkMemoryGb} GB; one 4-rung ffmpeg keeps ${f(a.parallelEfficiency * 100, 0)}% of 6 vCPUs busy (parallel efficiency ${a.parallelEfficiency}); 1 Lambda vCPU = ${a.vcpuSpeed} × a core here`,
    `  cold start ${a.coldStartSeconds} s per task (later Map waves reuse warm workers); inline Map runs ≤ ${a.mapConcurrency} chunks at once`,
    `  S3: one HTTP stream moves ${a.s3StreamBytesPerSecond / 1e6} MB/s (ffmpeg reads the source through one); a new ranged GET ${a.s3GetSeconds * 1000} ms; a PutObject ${a.s3PutSeconds * 1000} ms, and the tasks put segments one after another`,
    `  Step Functions: ${a.transitionSeconds * 1000} ms per transition on the critical path; camera source GOP ${a.sourceGopSeconds} s, ${a.keyframeDecodeCpuSeconds * 1000} ms CPU per 1080p keyframe decode`,
    `  prices: Lambda $${PRICES.lambdaGbSecond}/GB-s and $${PRICES.lambdaRequest}/request, Step Functions Standard $${PRICES.sfnTransition}/transition, (S3 PUT $${PRICES.s3Put * 1000}/1,000)`,
  );
  for (const m of inputs) {
    out.push(
      '',
      `Measured here, ${m.label}: chunk ffmpeg CPU = ${f(m.chunkFixedCpu, 2)} s + ${f(m.chunkCpuPerVideoSecond, 3)} s × chunk seconds; ` +
        `audio ${f(m.audioCpuPerVideoSecond, 4)} CPU-s per video s; over HTTP the audio code read ${f(m.audioReadFraction, 2)}× the file in 3 + ${f(m.audioRequestsPerVideoSecond * 60, 1)} requests per video minute, thumbnails the file + ${f(m.thumbnailsExcessBytes / 1e6, 0)} MB in ${m.thumbnailsRequests} requests; source ${f((m.sourceBytesPerSecond * 8) / 1e6, 1)} Mbit/s; ` +
        `video renditions ${f((m.videoOutputBytesPerSecond * 8) / 1e6, 2)} Mbit/s; claim ${f(m.claimSeconds, 2)} s, probe ${f(m.probeSeconds, 2)} s, ` +
        `plan ${f(m.planSeconds, 2)} s, package ${f(m.packageSeconds, 2)} s, publish ${f(m.publishSeconds, 2)} s`,
    );
    const rows = candidates.map((c) => {
      const s = scenario(m, c);
      return [
        `${c} s`,
        String(s.chunks),
        String(s.waves),
        f(s.chunkWall),
        f(s.map),
        f(s.audio),
        f(s.thumbnails),
        f(s.wall),
        s.wall <= 180 ? 'yes' : 'NO',
        usd(s.cost.total),
      ];
    });
    out.push(table(['chunk C', 'N chunks', 'waves', 'chunk wall s', 'Map s', 'audio s', 'thumbs s', 'ready in s', '< 3 min', 'cost'], rows));
    const best = candidates.map((c) => scenario(m, c)).reduce((x, y) => (y.wall < x.wall - 0.5 || (Math.abs(y.wall - x.wall) <= 0.5 && y.cost.total < x.cost.total) ? y : x));
    for (const s of [scenario(m, 60), ...(best.chunkSeconds === 60 ? [] : [best])]) {
      const D = 3600;
      const tail = `publish ${f(m.publishSeconds, 2)} + 9 × ${a.transitionSeconds} = ${f(s.wall, 1)} s = ${f(s.wall / 60, 2)} min → ${s.wall <= 180 ? 'under' : 'OVER'} 3 minutes`;
      out.push(
        '',
        `  Worked example, C = ${s.chunkSeconds} s (${s.chunkSeconds === 60 ? 'the default chunkSeconds' : 'the fastest above, cheapest among ties'}):`,
        `    N = ceil(${D} / ${s.chunkSeconds}) = ${s.chunks} chunks, ${s.waves} wave(s) of ≤ ${a.mapConcurrency}`,
        `    chunk CPU = ${f(m.chunkFixedCpu, 2)} + ${f(m.chunkCpuPerVideoSecond, 3)} × ${s.chunkSeconds} = ${f(s.chunkCpu, 1)} CPU-s → encode ${f(s.chunkCpu, 1)} / (${a.vcpus} × ${a.parallelEfficiency} × ${a.vcpuSpeed}) = ${f(s.encode, 1)} s`,
        `    chunk upload = ${Math.ceil(s.chunkSeconds / m.segmentSeconds) * m.rungs} PUTs × ${a.s3PutSeconds} s + ${f((s.chunkSeconds * m.videoOutputBytesPerSecond) / 1e6, 1)} MB / ${a.s3StreamBytesPerSecond / 1e6} MB/s = ${f(s.chunkUpload, 1)} s → chunk ${f(s.chunkWall, 1)} s`,
        `    Map = cold ${a.coldStartSeconds} + ${s.waves} × ${f(s.chunkWall, 1)} = ${f(s.map, 1)} s`,
        `    audio (beside the Map) = cold ${a.coldStartSeconds} + max(encode ${D} × ${f(m.audioCpuPerVideoSecond, 4)} = ${f(s.audioEncode, 1)}, read ${f(m.audioReadFraction, 2)} × ${f((D * m.sourceBytesPerSecond) / 1e9, 2)} GB / ${a.s3StreamBytesPerSecond / 1e6} MB/s + ${f(3 + D * m.audioRequestsPerVideoSecond, 0)} GETs × ${a.s3GetSeconds} = ${f(s.audioRead, 1)}) + ${Math.ceil(D / m.segmentSeconds)} PUTs × ${a.s3PutSeconds} = ${f(s.audio, 1)} s`,
        `    before the Map = claim ${f(m.claimSeconds, 2)} + probe ${f(m.probeSeconds, 2)} + cold ${a.coldStartSeconds} + plan ${f(m.planSeconds, 2)} = ${f(s.before, 1)} s`,
        `    package = ${f(s.pack, 1)} s; thumbnails = cold ${a.coldStartSeconds} + max(read (${f((D * m.sourceBytesPerSecond) / 1e9, 2)} GB + ${f(m.thumbnailsExcessBytes / 1e9, 2)} GB) / ${a.s3StreamBytesPerSecond / 1e6} MB/s + ${m.thumbnailsRequests} GETs × ${a.s3GetSeconds} = ${f(s.thumbRead, 1)}, keyframes ${f(s.thumbDecode, 1)}) + PUTs = ${f(s.thumbnails, 1)} s (${m.thumbnailsBesideMap ? 'beside the Map, as measured here' : 'after Package, as measured here: on the critical path'})`,
        m.thumbnailsBesideMap
          ? `    ready = ${f(s.before, 1)} + max(Map ${f(s.map, 1)}, audio ${f(s.audio, 1)}, thumbnails ${f(s.thumbnails, 1)}) + package ${f(s.pack, 1)} + ${tail}`
          : `    ready = ${f(s.before, 1)} + max(Map ${f(s.map, 1)}, audio ${f(s.audio, 1)}) + package ${f(s.pack, 1)} + thumbnails ${f(s.thumbnails, 1)} + ${tail}`,
        `    cost: chunks ${s.chunks} × (${f(s.chunkWall, 1)} + ${a.coldStartSeconds}) s × ${a.chunkMemoryGb} GB × $${PRICES.lambdaGbSecond} = ${usd(s.cost.chunks)}; other tasks ${usd(s.cost.others)}; ` +
          `requests ${s.chunks + 7} × $${PRICES.lambdaRequest} = ${usd(s.cost.requests)}; transitions ${s.transitions} × $${PRICES.sfnTransition} = ${usd(s.cost.transitions)}; (S3 PUTs ${usd(s.cost.s3)})`,
        `    total ≈ ${usd(s.cost.total)} per 1-hour video`,
        `    critical path: ${critical(m, s)}`,
      );
    }
    const p = scenario(m, 60, 3600, PESSIMISTIC);
    out.push(
      `  Sensitivity, C = 60 s with ${Object.entries(PESSIMISTIC).map(([k, v]) => `${k} ${k === 's3StreamBytesPerSecond' ? `${Number(v) / 1e6} MB/s` : v}`).join(', ')}: ` +
        `Map ${f(p.map, 1)} s, audio ${f(p.audio, 1)} s, thumbnails ${f(p.thumbnails, 1)} s → ready in ${f(p.wall, 1)} s (${p.wall <= 180 ? 'still under' : 'OVER'} 3 minutes), ${usd(p.cost.total)}`,
    );
  }
  return out;
}
