import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { VisionApi } from '../../shared/api.js';
import { ApiProvider } from '../api/context.js';
import { App } from './App.js';

/** Renders the app into #root against a VisionApi (the real one, or the test harness's fake). */
export function mountApp(api: VisionApi): void {
  const root = document.getElementById('root');
  if (!root) throw new Error('the page lacks #root');
  createRoot(root).render(
    <StrictMode>
      <ApiProvider api={api}>
        <App />
      </ApiProvider>
    </StrictMode>,
  );
}
