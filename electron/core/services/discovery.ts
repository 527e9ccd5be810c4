/**
 * Finding `ollama` and a Python ≥ 3.10 on a Mac. Apps started from the Dock do not inherit
 * the shell's PATH, so the known install locations come first, then our own PATH, then the
 * login shell's PATH (asked once, with a timeout). The file system, environment and command
 * runner are injected so every rule is testable on any machine.
 */
import { access, constants, readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { runCommand, type RunCommand } from './commands.js';

export interface DiscoveryHost {
  platform: NodeJS.Platform;
  env: Record<string, string | undefined>;
  homeDir: string;
  isExecutable(path: string): Promise<boolean>;
  listDir(path: string): Promise<string[]>;
  run: RunCommand;
}

export function nodeDiscoveryHost(): DiscoveryHost {
  return {
    platform: process.platform,
    env: process.env,
    homeDir: homedir(),
    isExecutable: async (path) => {
      try {
        await access(path, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
    listDir: async (path) => {
      try {
        return await readdir(path);
      } catch {
        return [];
      }
    },
    run: runCommand,
  };
}

const PATH_MARKER = '__PARALLEL_VISION_PATH__';

/** The login shell's PATH, or null when the shell does not answer within the timeout. */
export async function readLoginShellPath(host: DiscoveryHost, timeoutMs = 3000): Promise<string | null> {
  const shell = host.env.SHELL || (host.platform === 'darwin' ? '/bin/zsh' : '/bin/sh');
  // Markers, because rc files may print banners around our output.
  // Detached (as VS Code does): an interactive shell that finds our terminal would take it over.
  const result = await host.run(shell, ['-ilc', `printf '${PATH_MARKER}%s${PATH_MARKER}' "$PATH"`], { timeoutMs, env: { ...host.env, TERM: 'dumb' }, detached: true });
  if (result.failed) return null;
  const match = new RegExp(`${PATH_MARKER}(.*?)${PATH_MARKER}`, 's').exec(result.stdout);
  return match?.[1] ? match[1] : null;
}

/** Reads the login shell's PATH at most once per finder. */
export class BinaryFinder {
  private loginPath: Promise<string | null> | null = null;

  constructor(readonly host: DiscoveryHost = nodeDiscoveryHost(), private readonly shellTimeoutMs = 3000) {}

  loginShellPath(): Promise<string | null> {
    this.loginPath ??= readLoginShellPath(this.host, this.shellTimeoutMs);
    return this.loginPath;
  }

  private pathDirs(path: string | null | undefined): string[] {
    return (path ?? '').split(delimiter).filter((dir) => dir !== '');
  }

  /** The first executable `name` in `knownDirs`, then our PATH, then the login shell's PATH. */
  async find(name: string, knownDirs: readonly string[]): Promise<string | null> {
    const tried = new Set<string>();
    const tryDirs = async (dirs: readonly string[]): Promise<string | null> => {
      for (const dir of dirs) {
        const candidate = join(dir, name);
        if (tried.has(candidate)) continue;
        tried.add(candidate);
        if (await this.host.isExecutable(candidate)) return candidate;
      }
      return null;
    };
    return (
      (await tryDirs(knownDirs)) ??
      (await tryDirs(this.pathDirs(this.host.env.PATH))) ??
      (await tryDirs(this.pathDirs(await this.loginShellPath())))
    );
  }

  async findOllama(): Promise<string | null> {
    const home = this.host.homeDir;
    return this.find('ollama', [
      '/opt/homebrew/bin',
      '/usr/local/bin',
      '/Applications/Ollama.app/Contents/Resources',
      join(home, 'Applications/Ollama.app/Contents/Resources'),
    ]);
  }

  /** The Python version of an interpreter, e.g. [3, 11], or null when it does not run. */
  async pythonVersion(path: string): Promise<[number, number] | null> {
    const result = await this.host.run(path, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { timeoutMs: 5000 });
    const match = /^(\d+)\.(\d+)/.exec(result.stdout.trim());
    return result.exitCode === 0 && match ? [Number(match[1]), Number(match[2])] : null;
  }

  /** A Python ≥ `min`: Homebrew, python.org, `uv`'s, then PATHs. */
  async findPython(min: readonly [number, number] = [3, 10]): Promise<{ path: string; version: string } | null> {
    const minors = Array.from({ length: 6 }, (_, i) => `python3.${14 - i}`); // newest first
    const names = [...minors, 'python3'];
    const frameworkRoot = '/Library/Frameworks/Python.framework/Versions';
    const frameworkDirs = (await this.host.listDir(frameworkRoot))
      .filter((version) => /^3\.\d+$/.test(version))
      .sort((a, b) => Number(b.split('.')[1]) - Number(a.split('.')[1]))
      .map((version) => join(frameworkRoot, version, 'bin'));
    const knownDirs = ['/opt/homebrew/bin', '/usr/local/bin', ...frameworkDirs];
    const candidates: string[] = [];
    for (const name of names) {
      for (const dir of knownDirs) candidates.push(join(dir, name));
    }
    const uv = await this.find('uv', ['/opt/homebrew/bin', '/usr/local/bin', join(this.host.homeDir, '.local/bin'), join(this.host.homeDir, '.cargo/bin')]);
    if (uv) {
      const found = await this.host.run(uv, ['python', 'find', `>=${min[0]}.${min[1]}`], { timeoutMs: 5000 });
      if (found.exitCode === 0 && found.stdout.trim()) candidates.push(found.stdout.trim());
    }
    for (const path of [this.host.env.PATH, await this.loginShellPath()]) {
      for (const dir of this.pathDirs(path)) for (const name of names) candidates.push(join(dir, name));
    }
    const seen = new Set<string>();
    for (const candidate of candidates) {
      if (seen.has(candidate)) continue;
      seen.add(candidate);
      // macOS's /usr/bin/python3 is a stub that pops up the Xcode tools installer.
      if (this.host.platform === 'darwin' && candidate === '/usr/bin/python3') continue;
      if (!(await this.host.isExecutable(candidate))) continue;
      const version = await this.pythonVersion(candidate);
      if (version && (version[0] > min[0] || (version[0] === min[0] && version[1] >= min[1]))) {
        return { path: candidate, version: version.join('.') };
      }
    }
    return null;
  }
}
