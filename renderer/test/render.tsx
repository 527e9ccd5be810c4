/** Test helper: renders UI against a FakeVisionApi with every zustand slice reset. */
import { render, type RenderResult } from '@testing-library/react';
import type { ReactElement } from 'react';
import { ApiProvider } from '../api/context.js';
import { useApp } from '../app/state.js';
import { useCompare } from '../features/compare/state.js';
import { useExport } from '../features/export/state.js';
import { useResults } from '../features/results/state.js';
import { useRun } from '../features/run/state.js';
import { useServices } from '../features/services/state.js';
import { FakeVisionApi, type FakeApiOptions } from './fake-api.js';

const stores = [useApp, useCompare, useExport, useResults, useRun, useServices] as const;
const initialStates = stores.map((store) => store.getState());

function resetStores(): void {
  stores.forEach((store, i) => (store as { setState(state: unknown, replace: true): void }).setState(initialStates[i], true));
}

export function renderWithApi(ui: ReactElement, options: FakeApiOptions | FakeVisionApi = {}): RenderResult & { api: FakeVisionApi } {
  resetStores();
  const api = options instanceof FakeVisionApi ? options : new FakeVisionApi(options);
  return { ...render(<ApiProvider api={api}>{ui}</ApiProvider>), api };
}

/** jsdom has no layout: give scroll containers a size so the virtualizer renders rows. */
export function fakeLayout(height = 600, width = 900): () => void {
  const proto = HTMLElement.prototype;
  const saved = ['clientHeight', 'clientWidth', 'offsetHeight', 'offsetWidth'].map((key) => [key, Object.getOwnPropertyDescriptor(proto, key)] as const);
  Object.defineProperty(proto, 'clientHeight', { configurable: true, get: () => height });
  Object.defineProperty(proto, 'offsetHeight', { configurable: true, get: () => height });
  Object.defineProperty(proto, 'clientWidth', { configurable: true, get: () => width });
  Object.defineProperty(proto, 'offsetWidth', { configurable: true, get: () => width });
  return () => {
    for (const [key, descriptor] of saved) {
      if (descriptor) Object.defineProperty(proto, key, descriptor);
      else delete (proto as unknown as Record<string, unknown>)[key];
    }
  };
}
