/**
 * Is a TCP port free, and if not, who holds it? Reads /proc on Linux through ./procfs (as the native
 * backend's own checks do), and tries to bind for what /proc cannot show. No vscode import.
 */
import * as net from 'node:net';
import { cmdline, findPortHolders, readStat } from './procfs';

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
  const holders = findPortHolders(port).filter(
    (h) => h.address === host || wildcard(h.address) || wildcard(host) || (host === 'localhost' && h.address === '127.0.0.1'),
  );
  const inUse = holders.length > 0 || (await bindProbe(port, host));
  if (!inUse) return { port, host, inUse };
  const seen = holders.find((h) => h.pid !== undefined);
  // the short name (/proc/<pid>/comm: "python3", "java"), as messages name it; the command line beside it
  const owner = seen?.pid !== undefined ? { pid: seen.pid, program: readStat(seen.pid)?.comm ?? seen.program ?? 'unknown', cmdline: cmdline(seen.pid).join(' ') || undefined } : undefined;
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

/** A port free on `host` now (the system's pick), for a listener started right after. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
