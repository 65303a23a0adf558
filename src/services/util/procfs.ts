/**
 * Linux /proc helpers: who listens on a port, process identity (start time), process trees, RSS.
 * Parsing functions are pure (unit-tested); the readers touch /proc only.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';

export interface ListenEntry {
  localAddress: string;
  port: number;
  inode: number;
}

/** Parses /proc/net/tcp or /proc/net/tcp6 text; returns sockets in LISTEN state (st 0A). */
export function parseProcNetTcp(text: string): ListenEntry[] {
  const out: ListenEntry[] = [];
  const lines = text.split('\n').slice(1);
  for (const line of lines) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10) continue;
    const [addrHex, portHex] = cols[1].split(':');
    const st = cols[3];
    if (st !== '0A') continue;
    out.push({ localAddress: hexToAddress(addrHex), port: parseInt(portHex, 16), inode: Number(cols[9]) });
  }
  return out;
}

/** /proc/net/tcp stores IPv4 addresses as a little-endian 32-bit hex number; IPv6 as 4 such words. */
export function hexToAddress(hex: string): string {
  if (hex.length === 8) {
    const b = Buffer.from(hex, 'hex');
    return `${b[3]}.${b[2]}.${b[1]}.${b[0]}`;
  }
  if (hex.length === 32) {
    const words: string[] = [];
    for (let i = 0; i < 4; i++) {
      const w = Buffer.from(hex.slice(i * 8, i * 8 + 8), 'hex').reverse().toString('hex');
      words.push(w.slice(0, 4), w.slice(4));
    }
    const full = words.map((w) => w.replace(/^0+(?=.)/, '')).join(':');
    if (/^(0:){7}0$/.test(full)) return '::';
    if (/^(0:){5}ffff:/.test(full)) {
      const v4 = Buffer.from(hex.slice(24), 'hex');
      return `::ffff:${v4[3]}.${v4[2]}.${v4[1]}.${v4[0]}`;
    }
    if (full === '0:0:0:0:0:0:0:1') return '::1';
    return full;
  }
  return hex;
}

export interface PortHolder {
  port: number;
  address: string;
  pid?: number;
  program?: string;
}

function readSafe(p: string): string {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

/** Listening sockets on `port` with, when /proc lets us see it, the owning pid and program. */
export function findPortHolders(port: number): PortHolder[] {
  const entries = [...parseProcNetTcp(readSafe('/proc/net/tcp')), ...parseProcNetTcp(readSafe('/proc/net/tcp6'))].filter(
    (e) => e.port === port,
  );
  if (entries.length === 0) return [];
  const inodes = new Map(entries.map((e) => [e.inode, e]));
  const holders: PortHolder[] = [];
  const found = new Set<number>();
  for (const pidDir of listPids()) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pidDir}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = fs.readlinkSync(`/proc/${pidDir}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (!m) continue;
      const inode = Number(m[1]);
      const e = inodes.get(inode);
      if (e && !found.has(inode)) {
        found.add(inode);
        holders.push({ port, address: e.localAddress, pid: pidDir, program: programName(pidDir) });
      }
    }
  }
  for (const e of entries) if (!found.has(e.inode)) holders.push({ port, address: e.localAddress });
  return holders;
}

/** Also try to bind: catches holders /proc cannot show (other namespaces). */
export function canBind(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export function describeHolder(h: PortHolder): string {
  if (h.pid) return `pid ${h.pid} (${h.program ?? 'unknown program'})`;
  return 'a process this user cannot see';
}

export function listPids(): number[] {
  try {
    return fs
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return [];
  }
}

export function programName(pid: number): string | undefined {
  const cmd = readSafe(`/proc/${pid}/cmdline`).split('\0').filter(Boolean);
  const comm = readSafe(`/proc/${pid}/comm`).trim();
  if (cmd.length === 0) return comm || undefined;
  const exe = cmd[0].split('/').pop() ?? cmd[0];
  if (exe === 'java') {
    const main = cmd.find((a, i) => i > 0 && /^[a-z][\w$]*(\.[\w$]+)+$/.test(a) && !a.startsWith('-'));
    return main ? `java ${main}` : 'java';
  }
  if (/^python/.test(exe) && cmd[1]) return `${exe} ${cmd[1].split('/').pop()}`;
  return exe || comm;
}

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** start time in clock ticks since boot (identity check against pid reuse) */
  startTime: number;
}

/** Parses /proc/PID/stat (comm may contain spaces and parentheses). */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < 0) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const comm = text.slice(open + 1, close);
  const rest = text.slice(close + 2).split(' ');
  // rest[0] = state (field 3), rest[1] = ppid (4), rest[2] = pgrp (5), rest[3] = session (6), rest[19] = starttime (22)
  return {
    pid,
    comm,
    state: rest[0],
    ppid: Number(rest[1]),
    pgrp: Number(rest[2]),
    session: Number(rest[3]),
    startTime: Number(rest[19]),
  };
}

export function readStat(pid: number): ProcStat | undefined {
  const t = readSafe(`/proc/${pid}/stat`);
  return t ? parseProcStat(t) : undefined;
}

/** The kernel's id of this boot (a start time recorded in another boot means nothing). */
export function bootId(): string | undefined {
  return readSafe('/proc/sys/kernel/random/boot_id').trim() || undefined;
}

/** The value of one variable in the environment a process was started with; undefined when absent or unreadable (another user's process). */
/**
 * The raw environment block of a process: undefined when it cannot be read (gone, or another
 * user's), '' for a moment while it execs.
 */
export function environOf(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return undefined;
  }
}

export function environValue(pid: number, name: string, environ = environOf(pid)): string | undefined {
  const prefix = `${name}=`;
  for (const kv of (environ ?? '').split('\0')) if (kv.startsWith(prefix)) return kv.slice(prefix.length);
  return undefined;
}

/** The command line a process runs, as argv. */
export function cmdline(pid: number): string[] {
  return readSafe(`/proc/${pid}/cmdline`).split('\0').filter(Boolean);
}

/** true when the pid exists, is not a zombie and (when given) has the recorded start time. */
export function isAlive(pid: number, startTime?: number): boolean {
  const st = readStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return startTime === undefined || st.startTime === startTime;
}

/** All live processes in process group `pgid` plus every descendant of `rootPid`. */
export function processTree(rootPid: number, pgid?: number): number[] {
  const stats = listPids()
    .map(readStat)
    .filter((s): s is ProcStat => !!s && s.state !== 'Z' && s.state !== 'X');
  const children = new Map<number, number[]>();
  for (const s of stats) {
    const list = children.get(s.ppid) ?? [];
    list.push(s.pid);
    children.set(s.ppid, list);
  }
  const out = new Set<number>();
  const alive = new Set(stats.map((s) => s.pid));
  if (alive.has(rootPid)) out.add(rootPid);
  const stack = [rootPid];
  while (stack.length) {
    const p = stack.pop()!;
    for (const c of children.get(p) ?? []) {
      if (!out.has(c)) {
        out.add(c);
        stack.push(c);
      }
    }
  }
  if (pgid !== undefined) for (const s of stats) if (s.pgrp === pgid) out.add(s.pid);
  return [...out];
}

/** Parses VmRSS from /proc/PID/status, in bytes. */
export function parseVmRss(statusText: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(statusText);
  return m ? Number(m[1]) * 1024 : 0;
}

export function rssBytes(pids: number[]): number {
  let total = 0;
  for (const p of pids) total += parseVmRss(readSafe(`/proc/${p}/status`));
  return total;
}

/** "Pss:  12345 kB" of /proc/PID/smaps_rollup → bytes (0 when absent). */
export function parsePss(text: string): number {
  const m = /^Pss:\s+(\d+)\s+kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * Proportional set size of processes: each shared page counted once across them (RSS counts
 * PostgreSQL's shared buffers and the pages gunicorn's and the executor's forks share once per
 * process). Like a container's memory usage, so native and Docker stacks compare. Falls back to RSS
 * where smaps_rollup is missing (kernels before 4.14).
 */
export function pssBytes(pids: number[]): number {
  let total = 0;
  for (const p of pids) {
    const pss = parsePss(readSafe(`/proc/${p}/smaps_rollup`));
    total += pss || parseVmRss(readSafe(`/proc/${p}/status`));
  }
  return total;
}
