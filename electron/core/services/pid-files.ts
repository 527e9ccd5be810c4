/**
 * Pid files: one per started child, with the process's start time, so that the next launch
 * can stop children orphaned by a crash of the app, and never a foreign process that
 * happens to have been given the same pid. Each names the Parallel Vision process that
 * supervises the child: while that one lives (the app, beside a `parallel-vision api` on the
 * same data folder), its child is not an orphan, and stopping it would only see it restarted.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { processStartTime } from './proc-info.js';
import { stopGroup } from './process-group.js';

export const PidRecord = z.object({
  service: z.string().regex(/^[\w.-]+$/),
  pid: z.number().int().positive(),
  startTime: z.string().min(1),
  port: z.number().int().nullable(),
  recordedAt: z.number(),
  /** The process supervising the child (absent in records written before owners were kept). */
  owner: z.object({ pid: z.number().int().positive(), startTime: z.string().min(1) }).optional(),
});
export type PidRecord = z.infer<typeof PidRecord>;

export interface PidFilesDeps {
  startTimeOf?: (pid: number) => Promise<string | null>;
  stop?: (pid: number) => Promise<unknown>;
  /** This process's pid (the owner of what it records). */
  self?: number;
}

export class PidFiles {
  private readonly startTimeOf: (pid: number) => Promise<string | null>;
  private readonly stop: (pid: number) => Promise<unknown>;
  private readonly self: number;
  /** This process's start time, read once. */
  private ownStart: Promise<string | null> | null = null;

  constructor(readonly dir: string, deps: PidFilesDeps = {}) {
    this.startTimeOf = deps.startTimeOf ?? ((pid) => processStartTime(pid));
    this.stop = deps.stop ?? ((pid) => stopGroup(pid, { graceMs: 3000 }));
    this.self = deps.self ?? process.pid;
  }

  private file(service: string): string {
    return join(this.dir, `${service}.pid.json`);
  }

  /** Record a child we just started; its start time is read from the OS now. */
  async record(service: string, pid: number, options: { port: number | null }): Promise<PidRecord | null> {
    const startTime = await this.startTimeOf(pid);
    if (startTime === null) return null; // it already died
    this.ownStart ??= this.startTimeOf(this.self);
    const ownerStart = await this.ownStart;
    const record: PidRecord = { service, pid, startTime, port: options.port, recordedAt: Date.now(), ...(ownerStart ? { owner: { pid: this.self, startTime: ownerStart } } : {}) };
    await mkdir(this.dir, { recursive: true });
    await writeFile(this.file(service), JSON.stringify(record));
    return record;
  }

  async remove(service: string): Promise<void> {
    await rm(this.file(service), { force: true });
  }

  async read(service: string): Promise<PidRecord | null> {
    try {
      const parsed = PidRecord.safeParse(JSON.parse(await readFile(this.file(service), 'utf8')));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }

  async readAll(): Promise<PidRecord[]> {
    let entries: string[];
    try {
      entries = await readdir(this.dir);
    } catch {
      return [];
    }
    const records = await Promise.all(entries.filter((entry) => entry.endsWith('.pid.json')).map((entry) => this.read(entry.slice(0, -'.pid.json'.length))));
    return records.filter((record): record is PidRecord => record !== null);
  }

  /** Whether the pid is still the very process it was (same start time), not another given its number. */
  private async sameProcess(known: { pid: number; startTime: string }): Promise<boolean> {
    return (await this.startTimeOf(known.pid)) === known.startTime;
  }

  /** Whether the recorded process is still the very one we started. */
  async isLive(record: PidRecord): Promise<boolean> {
    return this.sameProcess(record);
  }

  /** The other, still running Parallel Vision process that supervises the recorded child, if one does. */
  async liveOwner(record: PidRecord): Promise<number | null> {
    const owner = record.owner;
    if (!owner || owner.pid === this.self) return null;
    return (await this.sameProcess(owner)) ? owner.pid : null;
  }

  /** Stop the children a previous run left behind (not those another live process supervises); forget records of processes long gone. */
  async cleanupOrphans(): Promise<{ stopped: PidRecord[]; stale: PidRecord[]; owned: PidRecord[] }> {
    const outcome = { stopped: [] as PidRecord[], stale: [] as PidRecord[], owned: [] as PidRecord[] };
    for (const record of await this.readAll()) {
      if (!(await this.isLive(record))) {
        outcome.stale.push(record);
        await this.remove(record.service);
      } else if ((await this.liveOwner(record)) !== null) {
        outcome.owned.push(record);
      } else {
        await this.stop(record.pid);
        outcome.stopped.push(record);
        await this.remove(record.service);
      }
    }
    return outcome;
  }
}
