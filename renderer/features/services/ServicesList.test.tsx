import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../app/App.js';
import type { FakeVisionApi } from '../../test/fake-api.js';
import { DEFAULT_FAKE_SERVICES } from '../../test/fake-api.js';
import type { ServiceInfo } from '../../../shared/domain.js';
import { renderWithApi } from '../../test/render.js';

let api: FakeVisionApi;
afterEach(() => api.dispose());

function card(name: string): HTMLElement {
  const element = document.querySelector<HTMLElement>(`[data-service-card="${name}"]`);
  if (!element) throw new Error(`no card for ${name}`);
  return element;
}

describe('Services', () => {
  it('lists every service with its state in the header, on every screen', async () => {
    ({ api } = renderWithApi(<App />));
    const list = await screen.findByRole('list', { name: 'Model services' });
    const items = within(list).getAllByRole('listitem');
    expect(items.map((i) => [i.getAttribute('data-service'), i.getAttribute('data-state')])).toEqual([
      ['deepseek', 'not-installed'],
      ['ollama', 'stopped'],
      ['embedded', 'ready'],
    ]);
    fireEvent.click(screen.getByRole('tab', { name: 'Export' }));
    expect(screen.getByRole('list', { name: 'Model services' })).toBeTruthy();
  });

  it('starts a service and follows its state events', async () => {
    ({ api } = renderWithApi(<App />));
    fireEvent.click(await screen.findByRole('tab', { name: 'Services' }));
    const ollama = card('ollama');
    fireEvent.click(within(ollama).getByRole('button', { name: 'Start' }));
    await waitFor(() => expect(card('ollama').getAttribute('data-state')).toBe('ready'));
    expect(document.querySelector('[data-service="ollama"]')?.getAttribute('data-state')).toBe('ready');
    expect(within(card('ollama')).getByText('http://127.0.0.1:11434')).toBeTruthy();
    expect(within(card('ollama')).getByRole('button', { name: 'Stop' }).hasAttribute('disabled')).toBe(false);
  });

  it('runs setup and shows the stages with progress', async () => {
    ({ api } = renderWithApi(<App />));
    fireEvent.click(await screen.findByRole('tab', { name: 'Services' }));
    const deepseek = card('deepseek');
    expect(within(deepseek).getByText('Run setup to create its Python environment. Press Set up to install it.')).toBeTruthy();
    fireEvent.click(within(deepseek).getByRole('button', { name: 'Set up' }));
    const stages = await within(deepseek).findByRole('region', { name: 'Setup progress' });
    await waitFor(() => expect(stages.querySelector('[data-stage="venv"]')?.getAttribute('data-status')).toBe('running'));
    expect(within(stages).getByRole('progressbar', { name: 'venv progress' }).getAttribute('aria-valuenow')).toBe('50');
  });

  it('tells what to do when a service crashed on a taken port', async () => {
    const services = structuredClone(DEFAULT_FAKE_SERVICES);
    const deepseek = services[0];
    if (deepseek) deepseek.state = { type: 'crashed', reason: 'listen EADDRINUSE 127.0.0.1:8001', restarts: 1, lastLog: ['Traceback (most recent call last):', 'OSError: [Errno 48] Address already in use'] };
    ({ api } = renderWithApi(<App />, { services }));
    fireEvent.click(await screen.findByRole('tab', { name: 'Services' }));
    const crashed = card('deepseek');
    expect(within(crashed).getByText(/Port 8001 is taken by another program/)).toBeTruthy();
    expect(within(crashed).getByLabelText('DeepSeek-OCR log').textContent).toContain('Address already in use');
    expect(within(crashed).getByRole('button', { name: 'Start' }).hasAttribute('disabled')).toBe(false);
  });

  it('shows a failed start as a sentence', async () => {
    ({ api } = renderWithApi(<App />, { failures: { 'services.start': 'spawn ollama ENOENT' } }));
    fireEvent.click(await screen.findByRole('tab', { name: 'Services' }));
    fireEvent.click(within(card('ollama')).getByRole('button', { name: 'Start' }));
    expect((await within(card('ollama')).findByRole('alert')).textContent).toContain('Could not start Ollama (llava). The file or program was not found.');
  });
});

describe('Services: one name and one set of instructions per service', () => {
  it('names each service as the backend does (as its lane), and says to press Set up rather than the terminal\'s command', async () => {
    // As the service manager sends them: the hint is the terminal's line, `missing` the same without the command.
    const services: ServiceInfo[] = [
      {
        name: 'deepseek', label: 'DeepSeek-OCR', engine: 'deepseek', port: 8001, rssMb: null, managed: true, changedAt: 1, backend: { backend: 'rapidocr', saved: false },
        state: { type: 'not-installed', hint: "the rapidocr backend's Python environment /data/deepseek-venv is missing: set it up with `parallel-vision services setup deepseek`", missing: "the rapidocr backend's Python environment /data/deepseek-venv is missing" },
      },
      { name: 'embedded', label: 'PaddleOCR (embedded)', engine: 'embedded', state: { type: 'ready', url: 'in-process' }, port: null, rssMb: null, managed: false, changedAt: 1 },
    ];
    ({ api } = renderWithApi(<App />, {
      services,
      engines: [
        { engine: 'embedded', label: 'PaddleOCR (embedded)', delayMs: 5, isDefault: true },
        { engine: 'deepseek', label: 'DeepSeek-OCR', delayMs: 5, deepseekRoutes: { appleSilicon: false, mlxWeights: null, torchWeights: null, ollama: 'not-running', endpoints: [], venvs: { rapidocr: false, mlx: false, torch: false } } },
      ],
    }));
    // The Run screen: the lane says it cannot run, and where to set it up.
    const lane = await screen.findByRole('checkbox', { name: 'DeepSeek-OCR' });
    await waitFor(() => expect(within(lane.closest<HTMLElement>('[data-lane]')!).getByTestId('lane-status').textContent).toBe('Cannot run — not installed: set it up on the Services screen.'));
    fireEvent.click(screen.getByRole('tab', { name: 'Services' }));
    const deepseek = card('deepseek');
    expect(within(deepseek).getByRole('heading').textContent).toBe('DeepSeek-OCR');
    expect(within(card('embedded')).getByRole('heading').textContent).toBe('PaddleOCR (embedded)');
    expect(document.querySelector('[data-service="deepseek"] button')?.getAttribute('title')).toBe('DeepSeek-OCR: Not installed');
    expect(within(deepseek).getByText(/Python environment \/data\/deepseek-venv is missing/).textContent).toBe("The rapidocr backend's Python environment /data/deepseek-venv is missing. Press Set up to install it.");
    const routes = await screen.findByTestId('deepseek-routes');
    expect(routes.querySelector('[data-route="rapidocr"]')?.textContent).toContain('not set up yet: press Set up on the DeepSeek-OCR card below');
    expect(within(routes).getByTestId('deepseek-service-backend').textContent).toBe('DeepSeek-OCR service: not installed, rapidocr backend.');
    // No other name, no second instruction for the same step.
    const page = document.body.textContent ?? '';
    expect(page).not.toContain('parallel-vision services setup');
    expect(page).not.toContain('npm run setup:python');
  });
});
