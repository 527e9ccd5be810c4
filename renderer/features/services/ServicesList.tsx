import { useState } from 'react';
import type { ServiceInfo } from '../../../shared/domain.js';
import { useApi } from '../../api/context.js';
import { friendlyError } from '../../common/errors.js';
import { Button, Card, EmptyState, ErrorNotice, Loading, ProgressBar, focusRing } from '../../common/ui.js';
import { serviceAction } from './actions.js';
import { ApiAccess } from './ApiAccess.js';
import { adviseState, canPullModel, canStart, canStop, needsSetup, notInstalledTodo, type StateAdvice } from './advice.js';
import { useServices } from './state.js';
import { DeepSeekRoutes } from './DeepSeekRoutes.js';

const TONE_DOT: Record<StateAdvice['tone'], string> = {
  ok: 'bg-emerald-500',
  busy: 'bg-blue-500 animate-pulse',
  idle: 'bg-zinc-400',
  warn: 'bg-amber-500',
  error: 'bg-red-500',
};

/** The always-visible strip in the header: one pill per service. */
export function ServicesStrip({ onOpen }: { onOpen?: () => void }) {
  const { services, loading, error } = useServices();
  if (loading) return <span className="text-xs text-zinc-500">Looking for model services…</span>;
  if (error) return <span className="text-xs text-red-600 dark:text-red-400">{friendlyError(error, 'list the model services').message}</span>;
  return (
    <ul aria-label="Model services" className="flex flex-wrap items-center gap-1.5">
      {services.map((service) => {
        const advice = adviseState(service.state, service.port);
        const name = service.label;
        return (
          <li key={service.name} data-service={service.name} data-state={service.state.type}>
            <button
              type="button"
              onClick={onOpen}
              title={`${name}: ${advice.headline}`}
              className={`flex items-center gap-1.5 rounded-full border border-zinc-200 px-2 py-0.5 text-xs hover:bg-zinc-100 dark:border-zinc-800 dark:hover:bg-zinc-800 ${focusRing}`}
            >
              <span className={`size-2 shrink-0 rounded-full ${TONE_DOT[advice.tone]}`} aria-hidden />
              <span className="max-w-[11rem] truncate">{name}</span>
              <span className="sr-only">: {advice.headline}</span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

/** The Services screen: one card per service with state, controls, setup and log. */
export function ServicesList() {
  const { services, loading, error } = useServices();
  if (loading) return <Loading>Looking for model services…</Loading>;
  if (error) return <ErrorNotice error={error} action="list the model services" />;
  if (!services.length) return <EmptyState title="No model services are configured." />;
  return (
    <>
      <DeepSeekRoutes />
      <div aria-label="Service details" role="list" className="grid gap-3 lg:grid-cols-2">
        {services.map((service) => (
          <ServiceCard key={service.name} service={service} />
        ))}
      </div>
      <ApiAccess />
    </>
  );
}

function ServiceCard({ service }: { service: ServiceInfo }) {
  const api = useApi();
  const pending = useServices((s) => s.pending[service.name]);
  const actionError = useServices((s) => s.actionErrors[service.name]);
  const stages = useServices((s) => s.setup[service.name]);
  const name = service.label;
  const advice = adviseState(service.state, service.port);
  const todo = notInstalledTodo(service) ?? advice.todo;
  const stateUrl = service.state.type === 'ready' || service.state.type === 'degraded' || service.state.type === 'external' ? service.state.url : null;
  const url = stateUrl && /^https?:/.test(stateUrl) ? stateUrl : null;
  return (
    <div role="listitem" data-service-card={service.name} data-state={service.state.type}>
      <Card className="flex h-full flex-col gap-3">
        <header className="flex items-start gap-3">
          <span className={`mt-1.5 size-2.5 shrink-0 rounded-full ${TONE_DOT[advice.tone]}`} aria-hidden />
          <div className="min-w-0 flex-1">
            <h3 className="font-medium">{name}</h3>
            <p className="text-sm text-zinc-600 dark:text-zinc-400" data-testid="service-state">
              {advice.headline}
            </p>
          </div>
          <div className="flex shrink-0 gap-2">
            {needsSetup(service) && (
              <Button variant="primary" disabled={pending != null} onClick={() => void serviceAction(api, service.name, 'setup')}>
                {pending === 'setup' ? 'Setting up…' : 'Set up'}
              </Button>
            )}
            {canPullModel(service) && (
              <Button disabled={pending != null} onClick={() => void serviceAction(api, service.name, 'setup')}>
                {pending === 'setup' ? 'Pulling…' : 'Pull model'}
              </Button>
            )}
            {service.managed && !needsSetup(service) && service.state.type !== 'not-installed' && (
              <>
                <Button variant="primary" disabled={!canStart(service) || pending != null} onClick={() => void serviceAction(api, service.name, 'start')}>
                  {pending === 'start' ? 'Starting…' : 'Start'}
                </Button>
                <Button disabled={!canStop(service) || pending != null} onClick={() => void serviceAction(api, service.name, 'stop')}>
                  {pending === 'stop' ? 'Stopping…' : 'Stop'}
                </Button>
              </>
            )}
          </div>
        </header>
        {todo && (
          <p className={`rounded-md px-3 py-2 text-sm ${advice.tone === 'error' ? 'bg-red-50 text-red-800 dark:bg-red-950/50 dark:text-red-200' : 'bg-amber-50 text-amber-900 dark:bg-amber-950/40 dark:text-amber-200'}`}>
            <Linkified text={todo} />
          </p>
        )}
        <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-xs">
          <dt className="text-zinc-500">Engine</dt>
          <dd>{service.engine}</dd>
          {service.backend && (
            <>
              <dt className="text-zinc-500">Backend</dt>
              <dd>{service.backend.backend}</dd>
            </>
          )}
          <dt className="text-zinc-500">Port</dt>
          <dd className="tabular-nums">{service.port ?? (service.managed ? '—' : 'in-process')}</dd>
          {url && (
            <>
              <dt className="text-zinc-500">Address</dt>
              <dd className="break-all font-mono">{url}</dd>
            </>
          )}
          {service.rssMb != null && (
            <>
              <dt className="text-zinc-500">Memory</dt>
              <dd className="tabular-nums">{Math.round(service.rssMb)} MB</dd>
            </>
          )}
        </dl>
        {actionError && <ErrorNotice error={actionError.error} action={`${actionError.action} ${name}`} onDismiss={() => useServices.getState().setActionError(service.name, undefined)} />}
        {stages && stages.length > 0 && <SetupStages stages={stages} onRetry={(stage) => void retryStage(api, service.name, stage)} />}
        {service.managed && <LogTail service={service} name={name} />}
      </Card>
    </div>
  );
}

async function retryStage(api: ReturnType<typeof useApi>, name: string, stage: string) {
  try {
    useServices.getState().setStages(name, await api.invoke('services.setup', { name, stage }));
  } catch (error) {
    useServices.getState().setActionError(name, { error, action: `retry “${stage}” of` });
  }
}

const STAGE_ICON = { pending: '○', running: '◐', done: '●', failed: '✕' } as const;

function SetupStages({ stages, onRetry }: { stages: { stage: string; status: keyof typeof STAGE_ICON; progress: number | null; message: string }[]; onRetry(stage: string): void }) {
  return (
    <section aria-label="Setup progress" className="flex flex-col gap-2">
      <h4 className="text-xs font-medium uppercase tracking-wide text-zinc-500">Setup</h4>
      <ol className="flex flex-col gap-2">
        {stages.map((stage) => (
          <li key={stage.stage} data-stage={stage.stage} data-status={stage.status} className="flex flex-col gap-1 text-sm">
            <div className="flex items-center gap-2">
              <span aria-hidden className={stage.status === 'failed' ? 'text-red-600' : stage.status === 'done' ? 'text-emerald-600' : 'text-zinc-400'}>
                {STAGE_ICON[stage.status]}
              </span>
              <span className="font-medium">{stage.stage}</span>
              <span className="min-w-0 flex-1 truncate text-xs text-zinc-500" title={stage.message}>
                {stage.message}
              </span>
              {stage.status === 'failed' && (
                <Button className="px-2 py-0.5 text-xs" onClick={() => onRetry(stage.stage)}>
                  Retry
                </Button>
              )}
            </div>
            {stage.status === 'running' && <ProgressBar value={stage.progress ?? 0} label={`${stage.stage} progress`} />}
          </li>
        ))}
      </ol>
    </section>
  );
}

function LogTail({ service, name }: { service: ServiceInfo; name: string }) {
  const api = useApi();
  const lines = useServices((s) => s.logs[service.name]);
  const [open, setOpen] = useState(service.state.type === 'crashed');
  const shown = lines ?? (service.state.type === 'crashed' ? service.state.lastLog : undefined);
  return (
    <details
      open={open}
      onToggle={(e) => {
        const isOpen = (e.currentTarget as HTMLDetailsElement).open;
        setOpen(isOpen);
        if (isOpen && !lines) {
          api.invoke('services.logs', { name: service.name, limit: 200 }).then(
            (tail) => useServices.getState().setLog(service.name, tail),
            () => undefined,
          );
        }
      }}
      className="text-xs"
    >
      <summary className={`cursor-pointer text-zinc-500 ${focusRing}`}>Log</summary>
      {shown && shown.length > 0 ? (
        <pre className="mt-1 max-h-48 overflow-auto whitespace-pre-wrap rounded-md bg-zinc-950 p-2 font-mono text-[11px] leading-snug text-zinc-200" aria-label={`${name} log`}>
          {shown.slice(-60).join('\n')}
        </pre>
      ) : (
        <p className="mt-1 text-zinc-500">No log lines yet.</p>
      )}
    </details>
  );
}

/** Web addresses in a hint become links (Electron opens them in the OS browser). */
function Linkified({ text }: { text: string }) {
  const parts = text.split(/(https?:\/\/[^\s`'")]+[^\s`'").,;:])/g);
  return (
    <>
      {parts.map((part, i) =>
        i % 2 === 1 ? (
          <a key={i} href={part} target="_blank" rel="noreferrer" className={`underline ${focusRing}`}>
            {part}
          </a>
        ) : (
          part
        ),
      )}
    </>
  );
}
