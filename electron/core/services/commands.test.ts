import { describe, expect, it } from 'vitest';
import { runCommand } from './commands.js';

describe('runCommand', () => {
  it('returns the output and exit code, failing only when the command could not run', async () => {
    expect(await runCommand(process.execPath, ['-e', 'process.stdout.write("out"); process.stderr.write("err")'])).toEqual({ exitCode: 0, stdout: 'out', stderr: 'err', failed: false });
    expect(await runCommand(process.execPath, ['-e', 'process.exit(3)'])).toMatchObject({ exitCode: 3, failed: false });
    expect(await runCommand('/nonexistent/tool', [])).toMatchObject({ exitCode: null, failed: true });
  });

  it('kills a command that outlives its timeout', async () => {
    // Without the kill the command would end on its own, successfully (failed: false).
    expect(await runCommand(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { timeoutMs: 200 })).toMatchObject({ failed: true });
  });

  it('runs a detached command in its own session', async () => {
    const result = await runCommand(process.execPath, ['-e', 'process.stdout.write(String(require("child_process").execFileSync("ps", ["-o", "sid=", "-p", String(process.pid)])).trim())'], { detached: true });
    expect(Number(result.stdout)).not.toBe(0);
    const ownSession = await runCommand('ps', ['-o', 'sid=', '-p', String(process.pid)]);
    expect(result.stdout.trim()).not.toBe(ownSession.stdout.trim());
  });
});
