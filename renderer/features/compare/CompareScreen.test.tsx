import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../app/App.js';
import { useApp } from '../../app/state.js';
import { FakeVisionApi } from '../../test/fake-api.js';
import { renderWithApi } from '../../test/render.js';
import { useResults } from '../results/state.js';
import { agreementTone } from './state.js';

let api: FakeVisionApi;
afterEach(() => api.dispose());

describe('Compare', () => {
  it('shows every engine side by side with a summary per engine', async () => {
    api = new FakeVisionApi();
    const runId = api.addFinishedRun(12, ['embedded', 'ollama'], 'compare');
    renderWithApi(<App />, api);
    act(() => {
      useApp.getState().show('compare');
      useResults.getState().selectRun(runId);
    });
    const summary = await screen.findByRole('region', { name: 'Engine summary' });
    await waitFor(() => expect(within(summary).getAllByRole('heading').map((h) => h.textContent)).toEqual(['Embedded OCR', 'Ollama (llava)']));
    const table = screen.getByRole('table', { name: 'Outputs side by side' });
    expect(within(table).getAllByRole('columnheader').map((h) => h.textContent)).toEqual(['Creative', 'Agreement', 'Embedded OCR', 'Ollama (llava)']);
    expect(within(table).getAllByRole('row')).toHaveLength(13);
    const first = within(table).getAllByRole('row')[1]!;
    expect(first.textContent).toContain('SALE ad-000000');
    expect(first.textContent).toContain('100 ms');
    expect(first.textContent).toContain('400 ms');
    expect(screen.queryByText(/split its ads between the engines/)).toBeNull();
  });

  it('explains that a split run has one engine per ad', async () => {
    api = new FakeVisionApi();
    const runId = api.addFinishedRun(6, ['embedded', 'ollama'], 'auto');
    renderWithApi(<App />, api);
    act(() => {
      useApp.getState().show('compare');
      useResults.getState().selectRun(runId);
    });
    expect(await screen.findByText(/split its ads between the engines/)).toBeTruthy();
    expect(screen.queryByText('pending')).toBeNull();
  });

  it('quick-tests pasted URLs on every engine with the compare policy', async () => {
    api = new FakeVisionApi({ engines: [{ engine: 'embedded', label: 'E', delayMs: 5 }, { engine: 'ollama', label: 'O', delayMs: 10 }] });
    renderWithApi(<App />, api);
    act(() => useApp.getState().show('compare'));
    fireEvent.change(await screen.findByLabelText(/Quick test/), { target: { value: 'https://a.example/1.png\nhttps://a.example/2.png' } });
    expect(screen.getByRole('button', { name: 'Compare 2 images' }).hasAttribute('disabled')).toBe(true);
    fireEvent.click(await screen.findByRole('checkbox', { name: 'O' }));
    fireEvent.click(screen.getByRole('button', { name: 'Compare 2 images' }));
    await waitFor(() => expect(api.calls.some((c) => c.channel === 'runs.start')).toBe(true));
    expect(api.calls.find((c) => c.channel === 'runs.start')?.request).toMatchObject({ policy: 'compare', lanes: [{ engine: 'embedded' }, { engine: 'ollama' }] });
    await screen.findByRole('table', { name: 'Outputs side by side' });
  });

  it('colours agreement so disagreements stand out', () => {
    expect(agreementTone(0.95)).toMatch(/emerald/);
    expect(agreementTone(0.7)).toMatch(/amber/);
    expect(agreementTone(0.2)).toMatch(/red/);
    expect(agreementTone(null)).toMatch(/zinc/);
  });
});
