/**
 * Linux `/proc` readings for the transcode benchmark: CPU time of a process and of the children
 * it has reaped, peak RSS (VmHWM), and a watcher that follows the ffmpeg/ffprobe processes a
 * platform spawns (when each ran, its CPU time, its peak memory, what it was by its command line).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of `/proc` times (USER_HZ: 100 on every mainstream Linux). */
export const TICKS = 100;

export interface ProcStat {
  readonly ppid: number;
  /** utime + stime of the process itself (all its threads), seconds. */
  readonly self: number;
  /** cutime + cstime: everything of the children it has waited for, seconds. */
  readonly reaped: number;
}

export function readStat(pid: number | 'self'): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ').map(Number);
    return { ppid: f[1]!, self: (f[11]! + f[12]!) / TICKS, reaped: (f[13]! + f[14]!) / TICKS };
  } catch {
    return undefined; // gone, or no /proc
  }
}

/** Peak resident set size of a live process, KiB (`VmHWM`). */
export function readPeakRssKiB(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

function readArgv(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw ? raw.split('\0').filter(Boolean) : undefined;
  } catch {
    return undefined;
  }
}

/** Busy time of the whole machine (all CPUs), seconds. */
export function machineBusySeconds(): number | undefined {
  try {
    const [cpu] = readFileSync('/proc/stat', 'utf8').split('\n');
    const [user, nice, system, , , irq, softirq, steal] = cpu!.trim().split(/\s+/).slice(1).map(Number);
    return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / TICKS;
  } catch {
    return undefined;
  }
}

/** What kind of media process a command line is. */
export type ToolKind = 'chunk' | 'audio' | 'thumbnails' | 'probe' | 'other';

export function classify(argv: readonly string[]): ToolKind {
  const exe = argv[0] ?? '';
  if (exe.endsWith('ffprobe')) return 'probe';
  if (argv.includes('libx264')) return 'chunk';
  if (argv.includes('-vn') && argv.includes('aac')) return 'audio';
  if (argv.some((a) => a.endsWith('.jpg'))) return 'thumbnails';
  return 'other';
}

/** One watched child process, as last seen. */
export interface WatchedProcess {
  readonly pid: number;
  readonly kind: ToolKind;
  readonly argv: readonly string[];
  /** `Date.now()` of the first and the last sample that saw it alive. */
  readonly firstSeen: number;
  lastSeen: number;
  /** utime + stime at the last sample, seconds (a lower bound: up to one interval is missed). */
  cpuSeconds: number;
  /** Highest VmHWM seen, KiB (the peak up to the last sample). */
  peakRssKiB: number;
}

/**
 * Polls `/proc` every `intervalMs` for ffmpeg/ffprobe processes whose parent is `rootPid`.
 * Cheap enough to run beside the measurement: each tick lists `/proc` and reads `stat` only of
 * pids it has not classified yet, plus `stat`/`status` of the few media processes alive.
 */
export class MediaProcessWatcher {
  private readonly known = new Set<number>();
  private readonly alive = new Map<number, WatchedProcess>();
  readonly done: WatchedProcess[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly rootPid: number,
    intervalMs = 100,
  ) {
    // Everything alive now is not part of the measured run.
    for (const entry of this.list()) this.known.add(entry);
    this.timer = setInterval(() => this.tick(), intervalMs);
  }

  private list(): number[] {
    try {
      return readdirSync('/proc')
        .filter((e) => e.charCodeAt(0) <= 57)
        .map(Number)
        .filter((n) => Number.isInteger(n));
    } catch {
      return [];
    }
  }

  private tick(): void {
    const now = Date.now();
    for (const pid of this.list()) {
      if (this.known.has(pid)) continue;
      const stat = readStat(pid);
      if (!stat) continue;
      if (stat.ppid !== this.rootPid) {
        this.known.add(pid);
        continue;
      }
      // Between fork and exec the child still shows node's command line: look again next tick.
      const argv = readArgv(pid);
      const exe = argv?.[0] ?? '';
      if (!/ff(mpeg|probe)$/.test(exe)) {
        if (argv && !exe.endsWith('node')) this.known.add(pid);
        continue;
      }
      this.known.add(pid);
      this.alive.set(pid, { pid, kind: classify(argv!), argv: argv!, firstSeen: now, lastSeen: now, cpuSeconds: stat.self, peakRssKiB: readPeakRssKiB(pid) ?? 0 });
    }
    for (const [pid, p] of this.alive) {
      const stat = readStat(pid);
      const rss = readPeakRssKiB(pid);
      if (!stat || rss === undefined) {
        this.alive.delete(pid);
        this.done.push(p);
        continue;
      }
      p.lastSeen = now;
      p.cpuSeconds = stat.self;
      p.peakRssKiB = Math.max(p.peakRssKiB, rss);
    }
  }

  /** Stops polling; returns every process seen, in start order. */
  stop(): WatchedProcess[] {
    this.tick();
    clearInterval(this.timer);
    this.done.push(...this.alive.values());
    this.alive.clear();
    return [...this.done].sort((a, b) => a.firstSeen - b.firstSeen);
  }
}

/** CPU seconds of a process tree, split the way the report shows it. */
export interface TreeCpu {
  /** The root process itself (for the platform: Node — handlers, S3 stand-in, gateway, workflow). */
  readonly root: number;
  /** Children the root has reaped (for the platform: every ffmpeg/ffprobe that ended). */
  readonly reaped: number;
  /** Live descendants, by pid (for the platform: DynamoDB Local's JVM). */
  readonly live: ReadonlyMap<number, number>;
}

export function treeCpu(rootPid: number): TreeCpu | undefined {
  const root = readStat(rootPid);
  if (!root) return undefined;
  const parents = new Map<number, number>();
  const self = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = readStat(Number(entry));
    if (!s) continue;
    parents.set(Number(entry), s.ppid);
    self.set(Number(entry), s.self);
  }
  const live = new Map<number, number>();
  for (const [pid, cpu] of self) {
    if (pid === rootPid) continue;
    for (let p = parents.get(pid), hops = 0; p !== undefined && p > 1 && hops < 64; p = parents.get(p), hops++) {
      if (p === rootPid) {
        live.set(pid, cpu);
        break;
      }
    }
  }
  return { root: root.self, reaped: root.reaped, live };
}

/** `after - before`, with processes that started meanwhile counted whole. */
export function treeCpuDelta(before: TreeCpu, after: TreeCpu): { root: number; reaped: number; live: number } {
  let live = 0;
  for (const [pid, cpu] of after.live) live += cpu - (before.live.get(pid) ?? 0);
  return { root: after.root - before.root, reaped: after.reaped - before.reaped, live };
}

/**
 * CPU seconds of this process, the children it has reaped, and each live `roots` tree (a
 * platform child with its reaped ffmpegs and its JVM): what the benchmark itself caused.
 */
export function ownCpuSeconds(roots: readonly number[] = []): number | undefined {
  const me = readStat('self');
  if (!me) return undefined;
  let total = me.self + me.reaped;
  for (const pid of roots) {
    const tree = treeCpu(pid);
    if (!tree) continue;
    total += tree.root + tree.reaped + [...tree.live.values()].reduce((a, b) => a + b, 0);
  }
  return total;
}

/** Starts measuring the CPU other work on the machine used; the function gives cores, on average. */
export function othersCpu(roots: () => readonly number[] = () => []): () => number | undefined {
  const at = performance.now();
  const busy = machineBusySeconds();
  const own = ownCpuSeconds(roots());
  return () => {
    const busyAfter = machineBusySeconds();
    const ownAfter = ownCpuSeconds(roots());
    const seconds = (performance.now() - at) / 1000;
    if (busy === undefined || own === undefined || busyAfter === undefined || ownAfter === undefined || seconds <= 0) return undefined;
    return Math.max(0, (busyAfter - busy - (ownAfter - own)) / seconds);
  };
}
