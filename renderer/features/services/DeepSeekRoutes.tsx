import { useEffect, useState } from 'react';
import type { EngineInfo } from '../../../shared/api.js';
import { chooseDeepSeekRoute, rankDeepSeekRoutes, type DeepSeekRouteFacts } from '../../../shared/deepseek-routes.js';
import type { LaneConfig } from '../../../shared/domain.js';
import { useApi } from '../../api/context.js';
import { Card, focusRing } from '../../common/ui.js';
import { useRun } from '../run/state.js';
import { useServices } from './state.js';

/** OpenAI-compatible lanes set up with a DeepSeek-OCR model (vLLM), by address. */
function deepseekEndpoints(lanes: readonly LaneConfig[]): string[] {
  return lanes.filter((lane) => lane.engine === 'openai' && lane.enabled !== false && lane.endpoint && /deepseek-ocr/i.test(lane.model ?? '')).map((lane) => lane.endpoint!);
}

/** Which DeepSeek-OCR routes this machine has, the recommended one, and the user's pick. */
export function DeepSeekRoutes() {
  const api = useApi();
  const [facts, setFacts] = useState<DeepSeekRouteFacts | null>(null);
  const lanes = useRun((s) => s.lanes);
  const override = useServices((s) => s.deepseekRoute);
  const setOverride = useServices((s) => s.setDeepSeekRoute);
  useEffect(() => {
    let live = true;
    api.invoke('engines.list', {}).then(
      (engines: EngineInfo[]) => {
        if (live) setFacts(engines.find((e) => e.engine === 'deepseek')?.deepseekRoutes ?? null);
      },
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [api]);
  if (!facts) return null;
  const routes = rankDeepSeekRoutes({ ...facts, endpoints: [...facts.endpoints, ...deepseekEndpoints(lanes)] });
  const recommended = chooseDeepSeekRoute(routes);
  const chosen = chooseDeepSeekRoute(routes, override);
  return (
    <Card className="mb-3 flex flex-col gap-2" data-testid="deepseek-routes">
      <h3 className="font-medium">DeepSeek-OCR routes</h3>
      <p className="text-sm text-zinc-600 dark:text-zinc-400" data-testid="deepseek-route-choice">
        {chosen ? `Using ${routes.find((r) => r.route === chosen)!.label}${chosen === recommended ? ' (recommended)' : ` (your choice; recommended: ${routes.find((r) => r.route === recommended)!.label})`}.` : 'No DeepSeek-OCR route is available on this machine yet.'}
      </p>
      <fieldset>
        <legend className="sr-only">DeepSeek-OCR route</legend>
        <ul className="flex flex-col gap-1">
          {routes.map((route) => (
            <li key={route.route} data-route={route.route} data-available={String(route.available)} className="flex items-start gap-2 text-sm">
              <input
                type="radio"
                name="deepseek-route"
                id={`deepseek-route-${route.route}`}
                className={`mt-1 ${focusRing}`}
                disabled={!route.available}
                checked={chosen === route.route}
                onChange={() => setOverride(route.route === recommended ? null : route.route)}
              />
              <label htmlFor={`deepseek-route-${route.route}`} className={route.available ? '' : 'text-zinc-400'}>
                <span className="font-medium">{route.label}</span>
                {route.route === recommended && <span className="ml-1 text-xs text-emerald-700 dark:text-emerald-400">recommended</span>}
                <span className="block text-xs text-zinc-500">{route.detail}</span>
              </label>
            </li>
          ))}
        </ul>
      </fieldset>
    </Card>
  );
}
