import { useRef, type KeyboardEvent } from 'react';
import { useApi } from '../api/context.js';
import { ErrorNotice, InfoNotice, focusRing } from '../common/ui.js';
import { CompareScreen } from '../features/compare/CompareScreen.js';
import { ExportScreen } from '../features/export/ExportScreen.js';
import { ResultsScreen } from '../features/results/ResultsScreen.js';
import { RunScreen } from '../features/run/RunScreen.js';
import { ServicesList, ServicesStrip } from '../features/services/ServicesList.js';
import { useBackendEvents } from './events.js';
import { SCREENS, useApp, type Screen } from './state.js';

const LABELS: Record<Screen, string> = { run: 'Run', results: 'Results', compare: 'Compare', services: 'Services', export: 'Export' };

export function App() {
  const api = useApi();
  useBackendEvents(api);
  const screen = useApp((s) => s.screen);
  const notices = useApp((s) => s.notices);
  const tabs = useRef<(HTMLButtonElement | null)[]>([]);

  const onTabKey = (event: KeyboardEvent, index: number) => {
    const delta = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (!delta) return;
    event.preventDefault();
    const next = (index + delta + SCREENS.length) % SCREENS.length;
    const target = SCREENS[next];
    if (target) useApp.getState().show(target);
    tabs.current[next]?.focus();
  };

  return (
    <div className="flex h-full flex-col bg-zinc-50 text-zinc-900 dark:bg-zinc-950 dark:text-zinc-100">
      <header className="flex flex-wrap items-center gap-x-6 gap-y-2 border-b border-zinc-200 bg-white px-5 py-2.5 dark:border-zinc-800 dark:bg-zinc-900">
        <h1 className="text-base font-semibold tracking-tight">Parallel Vision</h1>
        <nav role="tablist" aria-label="Screens" className="flex gap-1">
          {SCREENS.map((s, index) => (
            <button
              key={s}
              ref={(el) => {
                tabs.current[index] = el;
              }}
              type="button"
              role="tab"
              id={`tab-${s}`}
              aria-selected={screen === s}
              aria-controls="screen"
              tabIndex={screen === s ? 0 : -1}
              onClick={() => useApp.getState().show(s)}
              onKeyDown={(e) => onTabKey(e, index)}
              className={`rounded-md px-3 py-1 text-sm font-medium ${focusRing} ${
                screen === s ? 'bg-zinc-900 text-white dark:bg-zinc-100 dark:text-zinc-900' : 'text-zinc-600 hover:bg-zinc-100 dark:text-zinc-400 dark:hover:bg-zinc-800'
              }`}
            >
              {LABELS[s]}
            </button>
          ))}
        </nav>
        <div className="ml-auto">
          <ServicesStrip onOpen={() => useApp.getState().show('services')} />
        </div>
      </header>
      {notices.length > 0 && (
        <div className="flex flex-col gap-2 px-5 pt-3">
          {notices.map((notice) =>
            notice.kind === 'info' ? (
              <InfoNotice key={notice.id} message={notice.message} onDismiss={() => useApp.getState().dismiss(notice.id)} />
            ) : (
              <ErrorNotice key={notice.id} error={notice.message} action={notice.where ? describeWhere(notice.where) : undefined} onDismiss={() => useApp.getState().dismiss(notice.id)} />
            ),
          )}
        </div>
      )}
      <main id="screen" role="tabpanel" aria-labelledby={`tab-${screen}`} className={`min-h-0 flex-1 p-5 ${screen === 'results' ? 'flex flex-col overflow-hidden' : 'overflow-auto'}`}>
        {screen === 'run' && <RunScreen />}
        {screen === 'results' && <ResultsScreen />}
        {screen === 'compare' && <CompareScreen />}
        {screen === 'services' && (
          <div className="flex flex-col gap-3">
            <h2 className="text-base font-semibold">Model services</h2>
            <ServicesList />
          </div>
        )}
        {screen === 'export' && <ExportScreen />}
      </main>
    </div>
  );
}

function describeWhere(where: string): string | undefined {
  return where ? `complete “${where}”` : undefined;
}
