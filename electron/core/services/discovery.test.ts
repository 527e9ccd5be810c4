import { describe, expect, it } from 'vitest';
import { BinaryFinder, nodeDiscoveryHost, readLoginShellPath, type DiscoveryHost } from './discovery.js';
import type { CommandResult, RunCommand } from './commands.js';

function fakeHost(options: { executables: Record<string, string | null>; path?: string; loginPath?: string | null; shellCalls?: string[]; dirs?: Record<string, string[]>; platform?: NodeJS.Platform }): DiscoveryHost {
  const ok = (stdout: string): CommandResult => ({ exitCode: 0, stdout, stderr: '', failed: false });
  const run: RunCommand = async (file, args) => {
    if (args[0] === '-ilc') {
      options.shellCalls?.push(file);
      return options.loginPath === null ? { exitCode: null, stdout: '', stderr: '', failed: true } : ok(`banner\n__PARALLEL_VISION_PATH__${options.loginPath ?? ''}__PARALLEL_VISION_PATH__`);
    }
    if (args[0] === '-c') {
      const version = options.executables[file];
      return version ? ok(`${version}\n`) : { exitCode: 1, stdout: '', stderr: 'boom', failed: false };
    }
    return { exitCode: 1, stdout: '', stderr: '', failed: false };
  };
  return {
    platform: options.platform ?? 'darwin',
    env: { PATH: options.path ?? '/usr/bin:/bin', SHELL: '/bin/zsh' },
    homeDir: '/Users/ann',
    isExecutable: async (path) => path in options.executables,
    listDir: async (path) => options.dirs?.[path] ?? [],
    run,
  };
}

describe('BinaryFinder.findOllama', () => {
  it('prefers Homebrew over Ollama.app and the PATHs', async () => {
    const finder = new BinaryFinder(fakeHost({ executables: { '/opt/homebrew/bin/ollama': null, '/Applications/Ollama.app/Contents/Resources/ollama': null, '/usr/bin/ollama': null } }));
    expect(await finder.findOllama()).toBe('/opt/homebrew/bin/ollama');
  });

  it('finds the app bundle before looking at any PATH', async () => {
    const shellCalls: string[] = [];
    const finder = new BinaryFinder(fakeHost({ executables: { '/Applications/Ollama.app/Contents/Resources/ollama': null }, shellCalls }));
    expect(await finder.findOllama()).toBe('/Applications/Ollama.app/Contents/Resources/ollama');
    expect(shellCalls).toEqual([]);
  });

  it('falls back to the login shell PATH, asked only once', async () => {
    const shellCalls: string[] = [];
    const finder = new BinaryFinder(fakeHost({ executables: { '/Users/ann/bin/ollama': null }, loginPath: '/usr/bin:/Users/ann/bin', shellCalls }));
    expect(await finder.findOllama()).toBe('/Users/ann/bin/ollama');
    expect(await finder.find('uv', [])).toBeNull();
    expect(shellCalls).toEqual(['/bin/zsh']);
  });

  it('answers null when nothing is installed and the shell does not answer', async () => {
    expect(await new BinaryFinder(fakeHost({ executables: {}, loginPath: null })).findOllama()).toBeNull();
  });
});

describe('BinaryFinder.findPython', () => {
  it('skips interpreters older than 3.10 and the macOS stub', async () => {
    const finder = new BinaryFinder(fakeHost({
      executables: { '/usr/local/bin/python3': '3.9', '/usr/bin/python3': '3.12', '/opt/local/bin/python3': '3.11' },
      path: '/usr/bin:/opt/local/bin',
    }));
    expect(await finder.findPython()).toEqual({ path: '/opt/local/bin/python3', version: '3.11' });
  });

  it('prefers Homebrew, then the newest python.org framework build', async () => {
    const frameworks = { '/Library/Frameworks/Python.framework/Versions/3.12/bin/python3': '3.12', '/Library/Frameworks/Python.framework/Versions/3.10/bin/python3': '3.10' };
    const dirs = { '/Library/Frameworks/Python.framework/Versions': ['3.10', '3.12', 'Current'] };
    const withBrew = new BinaryFinder(fakeHost({ executables: { ...frameworks, '/opt/homebrew/bin/python3': '3.13' }, dirs }));
    expect((await withBrew.findPython())?.path).toBe('/opt/homebrew/bin/python3');
    const frameworksOnly = new BinaryFinder(fakeHost({ executables: frameworks, dirs }));
    expect(await frameworksOnly.findPython()).toEqual({ path: '/Library/Frameworks/Python.framework/Versions/3.12/bin/python3', version: '3.12' });
    expect(await new BinaryFinder(fakeHost({ executables: { '/usr/local/bin/python3': '3.8' } })).findPython()).toBeNull();
  });

  it('finds this machine\'s python3 with the real host', async () => {
    const found = await new BinaryFinder(nodeDiscoveryHost()).findPython([3, 0]);
    expect(found?.version).toMatch(/^3\.\d+$/);
  });
});

describe('readLoginShellPath', () => {
  it('reads the real login shell PATH between the markers', async () => {
    const host = { ...nodeDiscoveryHost(), env: { ...process.env, SHELL: '/bin/sh' } };
    expect(await readLoginShellPath(host)).toMatch(/\//);
  });
});
