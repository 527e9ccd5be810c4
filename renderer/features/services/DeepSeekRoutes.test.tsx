import { act, fireEvent, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeepSeekRouteFacts } from '../../../shared/deepseek-routes.js';
import { DEFAULT_FAKE_ENGINES, type FakeVisionApi } from '../../test/fake-api.js';
import { renderWithApi } from '../../test/render.js';
import { useRun } from '../run/state.js';
import { App } from '../../app/App.js';

let api: FakeVisionApi;
afterEach(() => api.dispose());

function renderWith(facts: DeepSeekRouteFacts) {
  const engines = DEFAULT_FAKE_ENGINES.map((spec) => (spec.engine === 'deepseek' ? { ...spec, deepseekRoutes: facts } : spec));
  ({ api } = renderWithApi(<App />, { engines }));
}

async function openServices(): Promise<HTMLElement> {
  fireEvent.click(await screen.findByRole('tab', { name: 'Services' }));
  return screen.findByTestId('deepseek-routes');
}

const routeOrder = () => Array.from(document.querySelectorAll('[data-route]')).map((li) => [li.getAttribute('data-route'), li.getAttribute('data-available')]);

describe('DeepSeek-OCR routes on the Services screen', () => {
  it('shows which routes this Mac has and uses the best one by default', async () => {
    renderWith({ appleSilicon: true, mlxWeights: '/data/models/deepseek-ocr-mlx-8bit', torchWeights: null, ollama: 'has-model', endpoints: [] });
    const panel = await openServices();
    expect(routeOrder()).toEqual([['mlx', 'true'], ['ollama', 'true'], ['torch', 'false'], ['vllm', 'false']]);
    expect(within(panel).getByTestId('deepseek-route-choice').textContent).toBe('Using MLX (native on Apple Silicon) (recommended).');
    expect((within(panel).getByLabelText(/MLX/) as HTMLInputElement).checked).toBe(true);
    expect((within(panel).getByLabelText(/PyTorch/) as HTMLInputElement).disabled).toBe(true);
    expect(within(panel).getByText(/no PyTorch weights yet/)).toBeTruthy();
  });

  it('lets the user pick another available route, and go back to the recommended one', async () => {
    renderWith({ appleSilicon: true, mlxWeights: '/m', torchWeights: '/t', ollama: 'no-model', endpoints: [] });
    const panel = await openServices();
    fireEvent.click(within(panel).getByLabelText(/PyTorch/));
    expect(within(panel).getByTestId('deepseek-route-choice').textContent).toMatch(/Using PyTorch \(MPS \/ CUDA\) \(your choice; recommended: MLX/);
    expect((within(panel).getByLabelText(/PyTorch/) as HTMLInputElement).checked).toBe(true);
    fireEvent.click(within(panel).getByLabelText(/MLX/));
    expect(within(panel).getByTestId('deepseek-route-choice').textContent).toMatch(/\(recommended\)\.$/);
  });

  it('counts the vLLM endpoints the user configured as lanes', async () => {
    renderWith({ appleSilicon: false, mlxWeights: null, torchWeights: null, ollama: 'not-running', endpoints: [] });
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
});
