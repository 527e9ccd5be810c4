import { act, cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from '../../app/App.js';
import { useApp } from '../../app/state.js';
import { FakeVisionApi } from '../../test/fake-api.js';
import { renderWithApi } from '../../test/render.js';
import { useResults } from '../results/state.js';
import { resolveDownloadUrl } from './state.js';

let api: FakeVisionApi;
/** Links the screen clicks to download (jsdom cannot navigate, so the click is recorded instead). */
let clicked: { href: string; download: string }[] = [];
beforeEach(() => {
  clicked = [];
  vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
    clicked.push({ href: this.href, download: this.download });
  });
});
afterEach(() => {
  api.dispose();
  vi.restoreAllMocks();
});

describe('Export', () => {
  it('exports the chosen rows and format and offers the download in browser mode', async () => {
    api = new FakeVisionApi();
    const runId = api.addFinishedRun(30);
    renderWithApi(<App />, api);
    act(() => {
      useApp.getState().show('export');
      useResults.getState().selectRun(runId);
    });
    fireEvent.click(await screen.findByLabelText(/^JSONL/));
    fireEvent.click(screen.getByLabelText('Only done'));
    fireEvent.click(screen.getByRole('button', { name: 'Export JSONL' }));
    const done = await screen.findByTestId('export-done');
    expect(done.textContent).toContain('Exported 27 rows');
    const link = within(done).getByRole('link', { name: /Download/ });
    expect(link.getAttribute('href')).toBe(new URL(`/downloads/${runId}.jsonl`, window.location.href).toString());
    expect(api.calls.find((c) => c.channel === 'export.start')?.request).toEqual({ runId, format: 'jsonl', rows: 'done', path: undefined });
    // Browser mode has no paths to pick.
    expect(screen.queryByLabelText('Save to')).toBeNull();

    // Another run picked: the file above is not its export.
    const other = api.addFinishedRun(3);
    act(() => useResults.getState().selectRun(other));
    await waitFor(() => expect(screen.queryByTestId('export-done')).toBeNull());
    act(() => useResults.getState().selectRun(runId));
    expect((await screen.findByTestId('export-done')).textContent).toContain('Exported 27 rows');
  });

  it('in browser mode one click exports and starts the download, the link staying as a fallback', async () => {
    api = new FakeVisionApi();
    const runId = api.addFinishedRun(4);
    renderWithApi(<App />, api);
    act(() => {
      useApp.getState().show('export');
      useResults.getState().selectRun(runId);
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Export CSV' }));
    const done = await screen.findByTestId('export-done');
    const href = new URL(`/downloads/${runId}.csv`, window.location.href).toString();
    expect(clicked).toEqual([{ href, download: `${runId}.csv` }]);
    expect(within(done).getByRole('link', { name: /Download/ }).getAttribute('href')).toBe(href);
  });

  it('asks for a run first', async () => {
    api = new FakeVisionApi();
    renderWithApi(<App />, api);
    act(() => useApp.getState().show('export'));
    expect(await screen.findByText('No run selected')).toBeTruthy();
  });

  it('refuses download URLs that are not http(s)', () => {
    expect(resolveDownloadUrl('/downloads/a.csv', 'http://127.0.0.1:5000/app/')).toBe('http://127.0.0.1:5000/downloads/a.csv');
    expect(() => resolveDownloadUrl('javascript:alert(1)', 'http://127.0.0.1:5000/')).toThrow(/refusing/);
  });

  it('treats a closed save dialog as no error, and explains real failures', async () => {
    api = new FakeVisionApi({ failures: { 'export.start': 'Export cancelled.' } });
    const runId = api.addFinishedRun(5);
    renderWithApi(<App />, api);
    act(() => {
      useApp.getState().show('export');
      useResults.getState().selectRun(runId);
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Export CSV' }));
    await waitFor(() => expect(screen.getByRole('button', { name: 'Export CSV' }).hasAttribute('disabled')).toBe(false));
    expect(api.calls.some((c) => c.channel === 'export.start')).toBe(true);
    expect(screen.queryByRole('alert')).toBeNull();

    api.dispose();
    api = new FakeVisionApi({ failures: { 'export.start': "EACCES: permission denied, open '/Volumes/ro/out.csv'" } });
    const other = api.addFinishedRun(5);
    cleanup();
    renderWithApi(<App />, api);
    act(() => {
      useApp.getState().show('export');
      useResults.getState().selectRun(other);
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Export CSV' }));
    expect((await screen.findByRole('alert')).textContent).toContain('Could not export the results. Permission denied.');
  });
});
