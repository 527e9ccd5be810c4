import { act, fireEvent, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeepSeekRouteFacts } from '../../../shared/deepseek-routes.js';
import type { ServiceInfo } from '../../../shared/domain.js';
import { DEFAULT_FAKE_ENGINES, DEFAULT_FAKE_SERVICES, type FakeVisionApi } from '../../test/fake-api.js';
import { renderWithApi } from '../../test/render.js';
import { useRun } from '../run/state.js';
import { App } from '../../app/App.js';

let api: FakeVisionApi;
afterEach(() => api.dispose());

const NO_VENVS = { rapidocr: false, mlx: false, torch: false };

function renderWith(facts: DeepSeekRouteFacts, deepseek?: Partial<ServiceInfo>) {
  const engines = DEFAULT_FAKE_ENGINES.map((spec) => (spec.engine === 'deepseek' ? { ...spec, deepseekRoutes: facts } : spec));
  const services = DEFAULT_FAKE_SERVICES.map((service) => (service.name === 'deepseek' && deepseek ? { ...service, ...deepseek } : service));
  ({ api } = renderWithApi(<App />, { engines, services }));
}

const startCalls = () => api.calls.filter((call) => call.channel === 'services.start').map((call) => call.request);

async function openServices(): Promise<HTMLElement> {
  fireEvent.click(await screen.findByRole('tab', { name: 'Services' }));
  return screen.findByTestId('deepseek-routes');
}

const routeOrder = () => Array.from(document.querySelectorAll('[data-route]')).map((li) => [li.getAttribute('data-route'), li.getAttribute('data-available')]);

describe('DeepSeek-OCR routes on the Services screen', () => {
  it('shows which routes this Mac has and uses the best one by default', async () => {
    renderWith({ appleSilicon: true, mlxWeights: '/data/models/deepseek-ocr-mlx-8bit', torchWeights: null, ollama: 'has-model', endpoints: [] });
    const panel = await openServices();
    expect(routeOrder()).toEqual([['mlx', 'true'], ['ollama', 'true'], ['rapidocr', 'true'], ['torch', 'false'], ['vllm', 'false']]);
    expect(within(panel).getByTestId('deepseek-route-choice').textContent).toBe('Using MLX (native on Apple Silicon) (recommended).');
    expect((within(panel).getByLabelText(/MLX/) as HTMLInputElement).checked).toBe(true);
    expect((within(panel).getByLabelText(/PyTorch/) as HTMLInputElement).disabled).toBe(true);
    expect(within(panel).getByText(/no PyTorch weights yet/)).toBeTruthy();
  });

  it('restarts the DeepSeek service with the backend of the route the user clicks, and back', async () => {
    renderWith(
      { appleSilicon: true, mlxWeights: '/m', torchWeights: '/t', ollama: 'no-model', endpoints: [] },
      { label: 'DeepSeek-OCR', state: { type: 'ready', url: 'http://127.0.0.1:8001', pid: 100 }, backend: { backend: 'mlx', saved: false } },
    );
    const panel = await openServices();
    expect(within(panel).getByTestId('deepseek-service-backend').textContent).toBe('DeepSeek-OCR service: ready, mlx backend.');
    fireEvent.click(within(panel).getByLabelText(/PyTorch/));
    expect(within(panel).getByTestId('deepseek-route-choice').textContent).toMatch(/Using PyTorch \(MPS \/ CUDA\) \(your choice; recommended: MLX/);
    expect((within(panel).getByLabelText(/PyTorch/) as HTMLInputElement).checked).toBe(true);
    expect(startCalls()).toEqual([{ name: 'deepseek', backend: 'torch' }]);
    // The service goes through starting to ready, now with torch (a new process).
    await screen.findByText('DeepSeek-OCR service: starting, torch backend.');
    await screen.findByText('DeepSeek-OCR service: ready, torch backend.');
    fireEvent.click(within(panel).getByLabelText(/MLX/));
    expect(within(panel).getByTestId('deepseek-route-choice').textContent).toMatch(/\(recommended\)\.$/);
    await screen.findByText('DeepSeek-OCR service: ready, mlx backend.');
    expect(startCalls()).toEqual([{ name: 'deepseek', backend: 'torch' }, { name: 'deepseek', backend: 'mlx' }]);
  });

  it('shows the backend saved by an earlier session as the choice', async () => {
    renderWith(
      { appleSilicon: true, mlxWeights: '/m', torchWeights: null, ollama: 'not-running', endpoints: [], venvs: { rapidocr: true, mlx: true, torch: false } },
      { state: { type: 'stopped' }, backend: { backend: 'rapidocr', saved: true } },
    );
    const panel = await openServices();
    expect(within(panel).getByTestId('deepseek-route-choice').textContent).toBe('Using RapidOCR (CPU, not DeepSeek-OCR) (your choice; recommended: MLX (native on Apple Silicon)).');
    expect((within(panel).getByLabelText(/RapidOCR/) as HTMLInputElement).checked).toBe(true);
    expect(within(panel).getByTestId('deepseek-service-backend').textContent).toBe('DeepSeek-OCR service: stopped, rapidocr backend.');
  });

  it('says which setup command a route without its Python environment needs', async () => {
    renderWith({ appleSilicon: true, mlxWeights: '/m', torchWeights: '/t', ollama: 'not-running', endpoints: [], venvs: { rapidocr: true, mlx: false, torch: true } });
    const panel = await openServices();
    expect(routeOrder()[0]).toEqual(['torch', 'true']);
    expect(within(panel).getByText(/its Python environment is missing: .*npm run setup:python -- --backend mlx/)).toBeTruthy();
  });

  it('picking Ollama sets up an Ollama lane with deepseek-ocr instead of restarting the service', async () => {
    renderWith({ appleSilicon: true, mlxWeights: '/m', torchWeights: null, ollama: 'has-model', endpoints: [] });
    const panel = await openServices();
    fireEvent.click(within(panel).getByLabelText(/Ollama deepseek-ocr/));
    expect(useRun.getState().lanes.filter((lane) => lane.engine === 'ollama')).toEqual([expect.objectContaining({ model: 'deepseek-ocr', enabled: true })]);
    expect(startCalls()).toEqual([]);
    expect(within(panel).getByTestId('deepseek-route-choice').textContent).toMatch(/^Using Ollama deepseek-ocr \(your choice/);
  });

  it('counts the vLLM endpoints the user configured as lanes', async () => {
    renderWith({ appleSilicon: false, mlxWeights: null, torchWeights: null, ollama: 'not-running', endpoints: [], venvs: NO_VENVS });
    const panel = await openServices();
    expect(within(panel).getByTestId('deepseek-route-choice').textContent).toMatch(/No DeepSeek-OCR route/);
    act(() =>
      useRun.setState({
        lanes: [
          { id: 'gpu-1', engine: 'openai', endpoint: 'http://gpu1:8000', model: 'deepseek-ai/DeepSeek-OCR', workers: 4, enabled: true },
          { id: 'gpu-2', engine: 'openai', endpoint: 'http://gpu2:8000', model: 'deepseek-ai/DeepSeek-OCR', workers: 4, enabled: true },
          { id: 'lm', engine: 'openai', endpoint: 'http://lm:1234', model: 'qwen2-vl', workers: 1, enabled: true },
        ],
      }),
    );
    expect(routeOrder()[0]).toEqual(['vllm', 'true']);
    expect(within(panel).getByText('2 endpoints: http://gpu1:8000, http://gpu2:8000')).toBeTruthy();
    expect(within(panel).getByTestId('deepseek-route-choice').textContent).toBe('Using vLLM endpoints (recommended).');
  });

  it('picking vLLM switches on every DeepSeek-OCR endpoint lane', async () => {
    renderWith({ appleSilicon: true, mlxWeights: '/m', torchWeights: null, ollama: 'not-running', endpoints: [] });
    const panel = await openServices();
    act(() =>
      useRun.setState({
        lanes: [
          { id: 'gpu-1', engine: 'openai', endpoint: 'http://gpu1:8000', model: 'deepseek-ai/DeepSeek-OCR', workers: 4, enabled: true },
          { id: 'gpu-2', engine: 'openai', endpoint: 'http://gpu2:8000', model: 'deepseek-ai/DeepSeek-OCR', workers: 4, enabled: false },
          { id: 'lm', engine: 'openai', endpoint: 'http://lm:1234', model: 'qwen2-vl', workers: 1, enabled: false },
        ],
      }),
    );
    fireEvent.click(within(panel).getByLabelText(/vLLM/));
    expect(useRun.getState().lanes.map((lane) => [lane.id, lane.enabled])).toEqual([['gpu-1', true], ['gpu-2', true], ['lm', false]]);
    expect(startCalls()).toEqual([]);
    expect(within(panel).getByText('2 endpoints: http://gpu1:8000, http://gpu2:8000')).toBeTruthy();
  });
});
