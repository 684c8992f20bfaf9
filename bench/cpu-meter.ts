/**
 * How much CPU other work took while a benchmark ran (Linux `/proc`; elsewhere nothing is
 * measured): machine-wide busy time minus this process tree's (the platform, DynamoDB Local's
 * JVM and a `--platform process` child included). On a shared machine this says whether a slow
 * run was slow because of the code or because of the neighbours.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of `/proc` times (USER_HZ: 100 on every mainstream Linux). */
const TICKS = 100;

interface Sample {
  readonly at: number;
  readonly machineBusy: number;
  readonly tree: number;
}

function machineBusyTicks(): number {
  const [cpu] = readFileSync('/proc/stat', 'utf8').split('\n');
  // cpu user nice system idle iowait irq softirq steal …
  const [user, nice, system, , , irq, softirq] = cpu!.trim().split(/\s+/).slice(1).map(Number);
  return user! + nice! + system! + irq! + softirq!;
}

/** utime + stime of this process and all its descendants. */
function treeTicks(): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: fields start after the last ')'.
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // exited meanwhile
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
      if (p === process.pid) return true;
      p = stats.get(p)?.ppid ?? 0;
    }
    return false;
  };
  let ticks = 0;
  for (const [pid, s] of stats) if (inTree(pid)) ticks += s.ticks;
  return ticks;
}

function sample(): Sample | undefined {
  try {
    return { at: performance.now(), machineBusy: machineBusyTicks(), tree: treeTicks() };
  } catch {
    return undefined; // no /proc
  }
}

/** Starts measuring; the returned function gives the CPUs (cores) other work used meanwhile, on average. */
export function measureOthersCpu(): () => number | undefined {
  const before = sample();
  return () => {
    const after = sample();
    if (!before || !after || after.at <= before.at) return undefined;
    const seconds = (after.at - before.at) / 1000;
    const others = (after.machineBusy - before.machineBusy - (after.tree - before.tree)) / TICKS;
    return Math.max(0, others / seconds);
  };
}
