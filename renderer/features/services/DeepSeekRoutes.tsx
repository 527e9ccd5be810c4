import { useEffect, useState } from 'react';
import type { EngineInfo } from '../../../shared/api.js';
import { chooseDeepSeekRoute, rankDeepSeekRoutes, type DeepSeekRouteFacts, type DeepSeekRouteKind } from '../../../shared/deepseek-routes.js';
import { ENGINE_LABELS, type LaneConfig, type ServiceInfo } from '../../../shared/domain.js';
import { useApi } from '../../api/context.js';
import { Card, focusRing } from '../../common/ui.js';
import { useRun } from '../run/state.js';
import { applyDeepSeekRoute } from './actions.js';
import { needsSetup } from './advice.js';
import { useServices } from './state.js';

/** The route the saved backend choice of the DeepSeek service stands for (null: none saved). */
function savedDeepSeekRoute(service: ServiceInfo | undefined): DeepSeekRouteKind | null {
  const backend = service?.backend;
  if (!backend?.saved) return null;
  return backend.backend === 'deepseek' ? null : backend.backend;
}

function serviceLine(service: ServiceInfo | undefined, name: string, pending: string | undefined): string | null {
  if (!service?.backend) return null;
  const state = pending === 'start' ? 'restarting' : service.state.type.replace(/-/g, ' ');
  return `${name} service: ${state}, ${service.backend.backend} backend${service.backend.model ? ` (model ${service.backend.model})` : ''}.`;
}

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
  const service = useServices((s) => s.services.find((info) => info.name === 'deepseek'));
  const pending = useServices((s) => s.pending.deepseek);
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
  // This session's pick, else the backend saved by an earlier one, else the best.
  const chosen = chooseDeepSeekRoute(routes, override ?? savedDeepSeekRoute(service));
  const name = service?.label ?? ENGINE_LABELS.deepseek;
  const status = serviceLine(service, name, pending);
  // The backend the service runs now is set up on its card below: that is the one instruction for it.
  const detailOf = (route: (typeof routes)[number]) => (!route.available && service && needsSetup(service) && service.backend?.backend === route.route ? `not set up yet: press Set up on the ${name} card below` : route.detail);
  return (
    <Card className="mb-3 flex flex-col gap-2" data-testid="deepseek-routes">
      <h3 className="font-medium">DeepSeek-OCR routes</h3>
      <p className="text-sm text-zinc-600 dark:text-zinc-400" data-testid="deepseek-route-choice">
        {chosen ? `Using ${routes.find((r) => r.route === chosen)!.label}${chosen === recommended ? ' (recommended)' : ` (your choice; recommended: ${routes.find((r) => r.route === recommended)!.label})`}.` : 'No DeepSeek-OCR route is available on this machine yet.'}
      </p>
      {status && (
        <p className="text-xs text-zinc-500" data-testid="deepseek-service-backend">
          {status}
        </p>
      )}
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
                onChange={() => void applyDeepSeekRoute(api, route.route)}
              />
              <label htmlFor={`deepseek-route-${route.route}`} className={route.available ? '' : 'text-zinc-400'}>
                <span className="font-medium">{route.label}</span>
                {route.route === recommended && <span className="ml-1 text-xs text-emerald-700 dark:text-emerald-400">recommended</span>}
                <span className="block text-xs text-zinc-500">{detailOf(route)}</span>
              </label>
            </li>
          ))}
        </ul>
      </fieldset>
    </Card>
  );
}
