/**
 * Is a TCP port free, and if not, who holds it? Reads /proc on Linux (no vscode import: used by
 * both stack backends and by plain mocha tests).
 */
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';

export interface PortOwner {
  pid: number;
  /** short program name from /proc/<pid>/comm, e.g. "java" */
  program: string;
  /** full command line, space-joined (may be truncated by the caller for display) */
  cmdline?: string;
}

export interface PortCheck {
  port: number;
  host: string;
  inUse: boolean;
  /** set when the port is in use and its owner could be read from /proc */
  owner?: PortOwner;
}

interface ProcListener {
  port: number;
  /** local address as dotted / colon text, e.g. "127.0.0.1", "0.0.0.0", "::" */
  address: string;
  inode: number;
}

const TCP_LISTEN = '0A';

function parseHexIpv4(hex: string): string {
  // /proc/net/tcp stores the address in host byte order (little-endian on x86/arm).
  const n = parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
}

function parseHexIpv6(hex: string): string {
  const groups: string[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    // each 32-bit word is little-endian
    const bytes = [word.slice(6, 8), word.slice(4, 6), word.slice(2, 4), word.slice(0, 2)].join('');
    groups.push(bytes.slice(0, 4), bytes.slice(4, 8));
  }
  const text = groups.map((g) => parseInt(g, 16).toString(16)).join(':');
  return text === '0:0:0:0:0:0:0:0' ? '::' : text;
}

/** Parse the text of /proc/net/tcp or /proc/net/tcp6 into its listening sockets. */
export function parseProcNetTcp(text: string, v6 = false): ProcListener[] {
  const out: ProcListener[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10 || cols[3] !== TCP_LISTEN) continue;
    const [addrHex, portHex] = cols[1].split(':');
    out.push({
      port: parseInt(portHex, 16),
      address: v6 ? parseHexIpv6(addrHex) : parseHexIpv4(addrHex),
      inode: parseInt(cols[9], 10),
    });
  }
  return out;
}

async function readListeners(): Promise<ProcListener[]> {
  const all: ProcListener[] = [];
  for (const [file, v6] of [
    ['/proc/net/tcp', false],
    ['/proc/net/tcp6', true],
  ] as const) {
    try {
      all.push(...parseProcNetTcp(await fs.readFile(file, 'utf8'), v6));
    } catch {
      // not Linux, or no IPv6: the bind probe below still answers "in use"
    }
  }
  return all;
}

async function ownerOfInodes(inodes: Set<number>): Promise<PortOwner | undefined> {
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = (await fs.readdir('/proc')).filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await fs.readdir(path.join('/proc', pid, 'fd'));
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = await fs.readlink(path.join('/proc', pid, 'fd', fd));
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(Number(m[1]))) return describePid(Number(pid));
    }
  }
  return undefined;
}

async function describePid(pid: number): Promise<PortOwner> {
  let program = 'unknown';
  let cmdline: string | undefined;
  try {
    program = (await fs.readFile(`/proc/${pid}/comm`, 'utf8')).trim() || program;
  } catch {
    /* process ended meanwhile */
  }
  try {
    cmdline = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean).join(' ') || undefined;
  } catch {
    /* process ended meanwhile */
  }
  return { pid, program, cmdline };
}

function wildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** Try to bind host:port; EADDRINUSE means someone else has it. */
function bindProbe(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE' || err.code === 'EACCES'));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(false)));
  });
}

/**
 * Is `port` taken for a server that wants to listen on `host` (default 127.0.0.1)? A listener on
 * the same address or on a wildcard address counts. When taken, names the owning pid and program.
 */
export async function checkPort(port: number, host = '127.0.0.1'): Promise<PortCheck> {
  const listeners = (await readListeners()).filter(
    (l) => l.port === port && (l.address === host || wildcard(l.address) || wildcard(host) || (host === 'localhost' && l.address === '127.0.0.1')),
  );
  const inUse = listeners.length > 0 || (await bindProbe(port, host));
  if (!inUse) return { port, host, inUse };
  const owner = await ownerOfInodes(new Set(listeners.map((l) => l.inode).filter((i) => i > 0)));
  return { port, host, inUse, owner };
}

/** Check several ports at once; returns only those in use. */
export async function findPortsInUse(ports: number[], host = '127.0.0.1'): Promise<PortCheck[]> {
  const checks = await Promise.all([...new Set(ports)].map((p) => checkPort(p, host)));
  return checks.filter((c) => c.inUse);
}

/** "Port 9092 is in use by pid 4121 (java)." — the first half of a user-facing message. */
export function describePortInUse(check: PortCheck): string {
  if (!check.inUse) return `Port ${check.port} is free.`;
  return check.owner
    ? `Port ${check.port} is in use by pid ${check.owner.pid} (${check.owner.program}).`
    : `Port ${check.port} is in use by another program.`;
}
