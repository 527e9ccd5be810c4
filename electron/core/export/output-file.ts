/**
 * Where an export's bytes go when it is given a path: to a temporary file beside the
 * target, renamed over it at the end, so a half-written export never replaces a good one.
 * A symlink is followed (the file it points to is replaced, the link stays); a device or a
 * pipe (`/dev/stdout`, a FIFO) is written straight, as it cannot be renamed over; a folder
 * is refused by name. Missing parent folders are created.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';

async function resolvedTarget(target: string): Promise<{ path: string; kind: 'new' | 'file' | 'special' }> {
  let path = target;
  try {
    path = await realpath(target);
  } catch {
    return { path: target, kind: 'new' };
  }
  const info = await stat(path);
  if (info.isDirectory()) throw new Error(`${target} is a folder: give a file name, e.g. ${target.replace(/\/+$/, '')}/results.csv`);
  return { path, kind: info.isFile() ? 'file' : 'special' };
}

/** Runs `write` on a stream to `target` as above; the stream is ended here. */
export async function writeOutputFile<T>(target: string, write: (out: Writable) => Promise<T>): Promise<T> {
  await mkdir(dirname(target), { recursive: true });
  const { path, kind } = await resolvedTarget(target);
  const temporary = kind === 'special' ? null : `${path}.${process.pid}.partial`;
  const out = createWriteStream(temporary ?? path);
  try {
    const failed = once(out, 'error').then(([error]) => {
      throw error;
    });
    const result = await Promise.race([write(out), failed]);
    out.end();
    await Promise.race([once(out, 'finish'), failed]);
    if (temporary) await rename(temporary, path);
    return result;
  } catch (error) {
    // Closed before the temporary file is removed: a stream destroyed while still opening would create it after.
    await new Promise<void>((resolve) => {
      if (out.closed) resolve();
      else out.once('close', () => resolve());
      out.destroy();
    });
    if (temporary) await rm(temporary, { force: true });
    throw error;
  }
}
