import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunProgress } from '../../shared/domain.js';
import { useRun } from '../features/run/state.js';
import type { FakeVisionApi } from '../test/fake-api.js';
import { renderWithApi } from '../test/render.js';
import { App } from './App.js';

let api: FakeVisionApi;
afterEach(() => api.dispose());

describe('App', () => {
  it('moves between screens with the arrow keys, one tab stop for the tab list', async () => {
    ({ api } = renderWithApi(<App />));
    const run = screen.getByRole('tab', { name: 'Run' });
    expect(run.getAttribute('aria-selected')).toBe('true');
    expect(screen.getAllByRole('tab').filter((tab) => tab.tabIndex === 0)).toEqual([run]);
    run.focus();
    fireEvent.keyDown(run, { key: 'ArrowRight' });
    const results = screen.getByRole('tab', { name: 'Results' });
    expect(results.getAttribute('aria-selected')).toBe('true');
    expect(document.activeElement).toBe(results);
    expect(await screen.findByText('No run selected')).toBeTruthy();
    fireEvent.keyDown(results, { key: 'ArrowLeft' });
    fireEvent.keyDown(screen.getByRole('tab', { name: 'Run' }), { key: 'ArrowLeft' });
    expect(screen.getByRole('tab', { name: 'Export' }).getAttribute('aria-selected')).toBe('true');
  });

  it('shows backend errors as notices, once per message', async () => {
    ({ api } = renderWithApi(<App />));
    act(() => {
      api.emit('app.error', { message: 'connect ECONNREFUSED 127.0.0.1:8001', where: 'health check' });
      api.emit('app.error', { message: 'connect ECONNREFUSED 127.0.0.1:8001', where: 'health check' });
    });
    const alerts = await screen.findAllByRole('alert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.textContent).toContain('The model service is not answering.');
    fireEvent.click(screen.getByRole('button', { name: 'Dismiss' }));
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it("shows a backend notice in the backend's own words, as information, not as a failed action", async () => {
    ({ api } = renderWithApi(<App />));
    const message = 'deepseek: left out of this run — not available (connect ECONNREFUSED 127.0.0.1:8001)';
    act(() => api.emit('app.notice', { message }));
    const status = await screen.findByText(message);
    expect(status.closest('[role="status"]')).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('in auto policy, the split slider shows the split the scheduler is making', async () => {
    ({ api } = renderWithApi(<App />));
    await screen.findByRole('checkbox', { name: 'Ollama (llava)' });
    fireEvent.click(screen.getByRole('checkbox', { name: 'Ollama (llava)' }));
    expect(screen.queryByRole('slider', { name: 'Split' })).toBeNull();
    const lane = (laneId: string, engine: 'embedded' | 'ollama', done: number) => ({
      laneId,
      engine,
      label: laneId,
      state: { type: 'busy' as const },
      workers: 1, concurrency: 1,
      done,
      failed: 0,
      inFlight: 1,
      share: 0,
      adsPerMinute: 60,
      p50_s: 1,
      p95_s: 2,
      estimate_s: 1,
    });
    const progress: RunProgress = { runId: 'r1', status: 'running', policy: 'auto', total: 100, done: 40, failed: 0, inFlight: 2, elapsed_s: 10, eta_s: 15, lanes: [lane('embedded', 'embedded', 36), lane('ollama', 'ollama', 4)], notes: ['Ollama held back: it slows the batch'] };
    act(() => {
      useRun.getState().attachRun('r1');
      api.emit('run.progress', progress);
    });
    const slider = await screen.findByRole('slider', { name: 'Split' });
    expect((slider as HTMLInputElement).disabled).toBe(true);
    expect((slider as HTMLInputElement).value).toBe('90');
    expect(screen.getByText('Ollama held back: it slows the batch')).toBeTruthy();
    // 60 ads left at 2 ads/s: 30 s, longer than the backend's 15 s.
    await waitFor(() => expect(screen.getByTestId('run-eta').textContent).toBe('ETA: about 30 s left'));
  });

  it('says what a service did, by its name, as news rather than an error', async () => {
    ({ api } = renderWithApi(<App />));
    await screen.findByRole('list', { name: 'Model services' });
    act(() => api.emit('service.notice', { name: 'deepseek', message: 'Restarted with 1 worker after running out of memory.' }));
    expect((await screen.findByText('DeepSeek-OCR: Restarted with 1 worker after running out of memory.')).closest('[role="status"]')).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
  });
});
