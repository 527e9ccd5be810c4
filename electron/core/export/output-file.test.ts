import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { lstat, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeOutputFile } from './output-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pv-output-file-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const writeText = (text: string) => async (out: NodeJS.WritableStream) => {
  out.write(text);
  return text.length;
};

describe('writeOutputFile', () => {
  it('creates missing folders and leaves no temporary file', async () => {
    const target = join(dir, 'a', 'b', 'out.csv');
    expect(await writeOutputFile(target, writeText('x,y\n'))).toBe(4);
    expect(await readFile(target, 'utf8')).toBe('x,y\n');
    expect(await readdir(join(dir, 'a', 'b'))).toEqual(['out.csv']);
  });

  it('keeps the old file when the writer fails', async () => {
    const target = join(dir, 'out.csv');
    await writeFile(target, 'good\n');
    await expect(writeOutputFile(target, async () => Promise.reject(new Error('store gone')))).rejects.toThrow('store gone');
    expect(await readFile(target, 'utf8')).toBe('good\n');
    expect(await readdir(dir)).toEqual(['out.csv']);
  });

  it('follows a symlink: the file it points to is replaced and the link stays', async () => {
    const real = join(dir, 'real.csv');
    const link = join(dir, 'link.csv');
    await writeFile(real, 'old\n');
    await symlink(real, link);
    await writeOutputFile(link, writeText('new\n'));
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe(real);
    expect(await readFile(real, 'utf8')).toBe('new\n');
  });

  it('writes a pipe straight, without renaming over it', async () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const chunks: Buffer[] = [];
    const reader = new Promise<string>((resolve, reject) => {
      createReadStream(fifo)
        .on('data', (chunk) => chunks.push(Buffer.from(chunk)))
        .on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
        .on('error', reject);
    });
    await writeOutputFile(fifo, writeText('through the pipe\n'));
    expect(await reader).toBe('through the pipe\n');
    expect((await lstat(fifo)).isFIFO()).toBe(true);
  });

  it('refuses a folder by name', async () => {
    await expect(writeOutputFile(dir, writeText('x'))).rejects.toThrow(`${dir} is a folder: give a file name`);
  });
});
