import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeVisionApi } from '../../test/fake-api.js';
import { fakeLayout, renderWithApi } from '../../test/render.js';
import { ResultsScreen } from './ResultsScreen.js';
import { ROW_HEIGHT } from './ResultsTable.js';
import { useResults } from './state.js';

let restoreLayout: () => void;
beforeAll(() => {
  restoreLayout = fakeLayout(600);
});
afterAll(() => restoreLayout());

let api: FakeVisionApi;
afterEach(() => api.dispose());

function renderRun(count: number) {
  api = new FakeVisionApi();
  const runId = api.addFinishedRun(count);
  renderWithApi(<ResultsScreen />, api);
  act(() => useResults.getState().selectRun(runId));
  return runId;
}

const visibleIds = () =>
  screen
    .getAllByRole('row')
    .map((row) => row.getAttribute('data-creative'))
    .filter((id): id is string => id != null);

describe('Results screen', () => {
  it('shows an empty state without a run', async () => {
    api = new FakeVisionApi();
    renderWithApi(<ResultsScreen />, api);
    expect(await screen.findByText('No run selected')).toBeTruthy();
  });

  it('renders only a window of 100 000 rows and pages in rows as it scrolls', async () => {
    renderRun(100_000);
    await screen.findByText('ad-000000');
    expect(screen.getByText('100,000 rows')).toBeTruthy();
    expect(visibleIds().length).toBeLessThan(60);
    const pageCalls = () => api.calls.filter((c) => c.channel === 'results.page');
    const before = pageCalls().length;

    const scroller = screen.getByTestId('results-scroll');
    await act(async () => {
      scroller.scrollTop = 50_000 * ROW_HEIGHT;
      fireEvent.scroll(scroller);
    });
    await screen.findByText('ad-050000');
    expect(visibleIds().length).toBeLessThan(60);
    // One page fetch covers the new window, not one request per row.
    expect(pageCalls().length - before).toBeLessThanOrEqual(2);
    expect(pageCalls().every((c) => (c.request as { limit: number }).limit <= 200)).toBe(true);
  });

  it('sorts, filters and searches through results.page', async () => {
    renderRun(500);
    await screen.findByText('ad-000000');
    fireEvent.click(screen.getByRole('button', { name: 'Creative' }));
    fireEvent.click(screen.getByRole('button', { name: /Creative/ }));
    await screen.findByText('ad-000499');
    expect(visibleIds()[0]).toBe('ad-000499');

    fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'failed' } });
    await waitFor(() => expect(screen.getByText('50 rows')).toBeTruthy());
    expect(screen.getAllByText('failed').length).toBeGreaterThan(0);

    fireEvent.change(screen.getByLabelText('Status'), { target: { value: '' } });
    fireEvent.change(screen.getByLabelText('Search'), { target: { value: 'ad-00012' } });
    await waitFor(() => expect(screen.getByText('10 rows')).toBeTruthy());
    expect(api.calls.filter((c) => c.channel === 'results.page').at(-1)?.request).toMatchObject({ search: 'ad-00012', sort: 'creativeId', descending: true });
  });

  it('opens a detail with the image, its boxes, the text and the attempts', async () => {
    renderRun(20);
    fireEvent.click(await screen.findByText('ad-000003'));
    const detail = await screen.findByRole('complementary', { name: 'Result detail' });
    await within(detail).findByTestId('boxes');
    expect(within(detail).getByTestId('boxes').querySelectorAll('rect')).toHaveLength(2);
    expect(within(detail).getByRole('img', { name: 'The ad' }).getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    expect(within(detail).getByTestId('result-text').textContent).toContain('SALE ad-000003');
    expect(within(detail).getByText('A banner with large red letters.')).toBeTruthy();
    expect(within(detail).getByRole('table').textContent).toContain('ok');
    expect(within(detail).getByTestId('result-summary').textContent).toMatch(/^Done on \S+( \(.+\))? in .+ · 2 text boxes$/);

    // A failed ad shows its error in words and the attempt's error.
    fireEvent.click(screen.getByText('ad-000009'));
    await within(detail).findByText(/The model service is not answering/);
    expect(within(detail).getByTestId('result-summary').textContent, 'a failure has no text boxes to count').toMatch(/^Failed on \S+( \(.+\))? after [^·]+$/);
    fireEvent.keyDown(within(detail).getByRole('button', { name: 'Close detail' }), { key: 'Escape' });
    expect(screen.queryByRole('complementary', { name: 'Result detail' })).toBeNull();

    // Opened from the table with Enter, the focus stays on the row: Escape there closes it too.
    const row = screen.getByText('ad-000009').closest('[role="row"]') as HTMLElement;
    fireEvent.keyDown(row, { key: 'Enter' });
    expect(await screen.findByRole('complementary', { name: 'Result detail' })).toBeTruthy();
    fireEvent.keyDown(row, { key: 'Escape' });
    expect(screen.queryByRole('complementary', { name: 'Result detail' })).toBeNull();
    // A long id is cut in the table and the heading, and shown whole as their tooltip.
    expect(screen.getByText('ad-000009').getAttribute('title')).toBe('ad-000009');
  });

  it('says when an answer was truncated (the engine repeated itself or ran out of budget)', async () => {
    const runId = renderRun(20);
    const result = api.runs.get(runId)!.results.get('ad-000004')![0]!;
    result.truncated = true;
    fireEvent.click(await screen.findByText('ad-000004'));
    const detail = await screen.findByRole('complementary', { name: 'Result detail' });
    expect((await within(detail).findByTestId('result-truncated')).textContent).toMatch(/Truncated/);
    fireEvent.click(screen.getByText('ad-000003'));
    await within(detail).findByText(/SALE ad-000003/);
    expect(within(detail).queryByTestId('result-truncated')).toBeNull();
  });

  it('opens the detail from the keyboard', async () => {
    renderRun(20);
    const row = (await screen.findByText('ad-000002')).closest('[role="row"]') as HTMLElement;
    row.focus();
    fireEvent.keyDown(row, { key: 'Enter' });
    expect(await screen.findByRole('complementary', { name: 'Result detail' })).toBeTruthy();
  });

  it('refreshes visible rows when results arrive, without refetching per result', async () => {
    api = new FakeVisionApi({ engines: [{ engine: 'embedded', label: 'E', delayMs: 5, workers: 4 }], tickMs: 20 });
    const batch = api.addBatch(Array.from({ length: 200 }, (_, i) => ({ creativeId: `n${String(i).padStart(3, '0')}`, imageUrl: `https://x.example/${i}.png` })));
    renderWithApi(<ResultsScreen />, api);
    const { runId } = await api.invoke('runs.start', { batchId: batch.batchId, lanes: [{ id: 'embedded', engine: 'embedded', workers: 4 }] });
    const offResults = api.on('run.results', ({ runId: id, results }) => useResults.getState().noteResults(id, results.length));
    act(() => useResults.getState().selectRun(runId));
    await waitFor(() => expect(api.runs.get(runId)?.status).toBe('finished'), { timeout: 5000 });
    await waitFor(() => expect(screen.queryAllByText('done').length).toBeGreaterThan(10), { timeout: 3000 });
    const pageCalls = api.calls.filter((c) => c.channel === 'results.page').length;
    // ~250 ms of results at a 400 ms refresh: a handful of page requests, not 200.
    expect(pageCalls).toBeLessThan(20);
    offResults();
  });
});
