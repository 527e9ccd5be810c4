/** What the Services screen says about a state: a headline and what to do about it. */
import type { ServiceInfo, ServiceState } from '../../../shared/domain.js';

export interface StateAdvice {
  headline: string;
  /** What the user can do, when something is wrong. */
  todo?: string;
  tone: 'ok' | 'busy' | 'idle' | 'warn' | 'error';
}

export function describeState(state: ServiceState): string {
  return adviseState(state, null).headline;
}

export function adviseState(state: ServiceState, port: number | null): StateAdvice {
  switch (state.type) {
    case 'not-installed':
      return { headline: 'Not installed', todo: `${capitalise(state.hint)}${/[.!?]$/.test(state.hint) ? '' : '.'}`, tone: 'warn' };
    case 'unavailable':
      return { headline: 'Unavailable', todo: explainReason(state.reason, port), tone: 'idle' };
    case 'stopped':
      return { headline: 'Stopped', tone: 'idle' };
    case 'starting':
      return { headline: `Starting — waiting for ${state.waitingFor}`, tone: 'busy' };
    case 'ready':
      return { headline: 'Ready', tone: 'ok' };
    case 'degraded':
      return { headline: 'Running with problems', todo: explainReason(state.reason, port), tone: 'warn' };
    case 'crashed':
      return {
        headline: state.restarts > 0 ? `Crashed (restarted ${state.restarts} time${state.restarts === 1 ? '' : 's'})` : 'Crashed',
        todo: `${explainReason(state.reason, port)} Check the log below, then start it again.`,
        tone: 'error',
      };
    case 'stopping':
      return { headline: 'Stopping', tone: 'busy' };
    case 'external':
      return { headline: 'Running (started outside the app)', tone: 'ok' };
  }
}

function capitalise(text: string): string {
  return text ? text[0]?.toUpperCase() + text.slice(1) : text;
}

/** Known failure reasons get a sentence that says what to do; others are shown as they are. */
export function explainReason(reason: string, port: number | null): string {
  if (/EADDRINUSE|address (already )?in use|port .*(taken|busy|in use)/i.test(reason)) {
    return `Port ${port ?? ''} is taken by another program. Quit that program, or stop the other copy of this service.`.replace('Port  ', 'The port ');
  }
  if (/ENOENT|not found|no such file/i.test(reason)) return 'The program was not found. Install it (or run its setup) and try again.';
  if (/ECONNREFUSED|connection refused/i.test(reason)) return 'The service does not answer on its port. Start it, or check that nothing blocks it.';
  if (/out of memory|ENOMEM|killed/i.test(reason)) return 'It ran out of memory. Close other apps or use a smaller model.';
  if (/timed? ?out/i.test(reason)) return 'It took too long to become ready. Large models can take minutes on first start; try again.';
  return capitalise(reason) + (/[.!?]$/.test(reason) ? '' : '.');
}

export function canStart(service: ServiceInfo): boolean {
  return service.managed && ['stopped', 'crashed', 'degraded'].includes(service.state.type);
}

export function canStop(service: ServiceInfo): boolean {
  return service.managed && ['ready', 'starting', 'degraded'].includes(service.state.type);
}

/**
 * What to do about a service that is not installed, said once for the app: where the app can
 * set it up, what is missing and Set up (the hint's command line is the terminal's way).
 */
export function notInstalledTodo(service: ServiceInfo): string | undefined {
  if (service.state.type !== 'not-installed') return undefined;
  const { hint, missing } = service.state;
  if (!needsSetup(service)) return sentence(hint);
  return `${sentence(missing ?? hint)} Press Set up to install it.`;
}

function sentence(text: string): string {
  return `${capitalise(text)}${/[.!?]$/.test(text) ? '' : '.'}`;
}

/** The DeepSeek service installs itself (venv, pip, weights); Ollama must be installed by the user. */
export function needsSetup(service: ServiceInfo): boolean {
  return service.managed && service.state.type === 'not-installed' && service.engine !== 'ollama';
}

/** Ollama's setup is pulling its model, which needs a running server. */
export function canPullModel(service: ServiceInfo): boolean {
  return service.engine === 'ollama' && ['ready', 'external'].includes(service.state.type);
}
