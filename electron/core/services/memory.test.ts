import { describe, expect, it } from 'vitest';
import { findOomReport, outOfMemoryEvidence, parseOomKills, OUT_OF_MEMORY_LOG } from './memory.js';

const killed = { code: null, signal: 'SIGKILL' as const };
const exited = { code: 1, signal: null };

describe('out-of-memory evidence', () => {
  it('a SIGKILL alone is not evidence (a user’s kill -9)', () => {
    expect(outOfMemoryEvidence({ exit: killed, logTail: ['READY port=1'], pressure: 'normal', kernelReport: null })).toBeNull();
    expect(outOfMemoryEvidence({ exit: killed, logTail: [], pressure: null, kernelReport: null })).toBeNull();
  });

  it('a log line of the patterns is, however it ended; pressure and kernel reports only with a SIGKILL', () => {
    expect(outOfMemoryEvidence({ exit: exited, logTail: ['x', 'MemoryError: cannot allocate'], pressure: null, kernelReport: null })).toBe('its log says "MemoryError: cannot allocate"');
    expect(outOfMemoryEvidence({ exit: killed, logTail: [], pressure: 'critical', kernelReport: null })).toBe('it was killed while the Mac was under critical memory pressure');
    expect(outOfMemoryEvidence({ exit: killed, logTail: [], pressure: null, kernelReport: 'Killed process 7 (python)' })).toBe('the kernel reports "Killed process 7 (python)"');
    expect(outOfMemoryEvidence({ exit: exited, logTail: [], pressure: 'critical', kernelReport: 'Killed process 7 (python)' })).toBeNull();
  });

  it('one set of patterns covers Python, C++, the C library, macOS and Ollama', () => {
    for (const line of ['MemoryError', 'std::bad_alloc', 'Cannot allocate memory', 'Killed: 9', 'cudaMalloc failed: out of memory', 'model requires more system memory (9 GiB) than is available']) {
      expect(OUT_OF_MEMORY_LOG.test(line), line).toBe(true);
    }
    expect(OUT_OF_MEMORY_LOG.test('INFO loaded 3 models')).toBe(false);
  });

  it('reads the kernel’s OOM report for one pid and the cgroup’s oom_kill count', () => {
    const kmsg = [
      '6,1234,5000,-;Out of memory: Killed process 4321 (python3) total-vm:9000kB, anon-rss:8000kB',
      '6,1235,5001,-;oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),task=ollama,pid=999,uid=501',
    ].join('\n');
    expect(findOomReport(kmsg, 4321)).toBe('Out of memory: Killed process 4321 (python3) total-vm:9000kB, anon-rss:8000kB');
    expect(findOomReport(kmsg, 999)).toMatch(/task=ollama,pid=999/);
    expect(findOomReport(kmsg, 43)).toBeNull();
    expect(parseOomKills('low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\n')).toBe(2);
    expect(parseOomKills('low 0\n')).toBeNull();
  });
});
