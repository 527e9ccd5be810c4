import { create } from 'zustand';
import type { ServiceInfo, SetupStage } from '../../../shared/domain.js';
import type { DeepSeekRouteKind } from '../../../shared/deepseek-routes.js';

/** Lines of log kept per service: a tail, not an archive. */
const LOG_TAIL = 200;

interface ServicesState {
  services: ServiceInfo[];
  loading: boolean;
  error: string | null;
  logs: Record<string, string[]>;
  setup: Record<string, SetupStage[]>;
  /** A start/stop/setup command in flight, per service. */
  pending: Record<string, string | undefined>;
  actionErrors: Record<string, { error: unknown; action: string } | undefined>;
  setAll(services: ServiceInfo[]): void;
  upsert(service: ServiceInfo): void;
  setError(error: string | null): void;
  appendLog(name: string, lines: string[]): void;
  setLog(name: string, lines: string[]): void;
  upsertStage(stage: SetupStage): void;
  setStages(name: string, stages: SetupStage[]): void;
  setPending(name: string, action: string | undefined): void;
  setActionError(name: string, error: { error: unknown; action: string } | undefined): void;
  /** The DeepSeek-OCR route the user picked over the recommended one (null: the recommended). */
  deepseekRoute: DeepSeekRouteKind | null;
  setDeepSeekRoute(route: DeepSeekRouteKind | null): void;
}

export function appendTail(current: readonly string[], lines: readonly string[], limit = LOG_TAIL): string[] {
  const next = current.concat(lines);
  return next.length > limit ? next.slice(next.length - limit) : next;
}

export function upsertStageList(stages: readonly SetupStage[], stage: SetupStage): SetupStage[] {
  const index = stages.findIndex((s) => s.stage === stage.stage);
  if (index === -1) return [...stages, stage];
  const next = stages.slice();
  next[index] = stage;
  return next;
}

export const useServices = create<ServicesState>((set) => ({
  services: [],
  loading: true,
  error: null,
  logs: {},
  setup: {},
  pending: {},
  actionErrors: {},
  deepseekRoute: null,
  setDeepSeekRoute: (route) => set({ deepseekRoute: route }),
  setAll: (services) => set({ services, loading: false, error: null }),
  upsert: (service) =>
    set((state) => {
      const index = state.services.findIndex((s) => s.name === service.name);
      if (index === -1) return { services: [...state.services, service] };
      const services = state.services.slice();
      services[index] = service;
      return { services };
    }),
  setError: (error) => set({ error, loading: false }),
  appendLog: (name, lines) => set((state) => ({ logs: { ...state.logs, [name]: appendTail(state.logs[name] ?? [], lines) } })),
  setLog: (name, lines) => set((state) => ({ logs: { ...state.logs, [name]: appendTail([], lines) } })),
  upsertStage: (stage) => set((state) => ({ setup: { ...state.setup, [stage.service]: upsertStageList(state.setup[stage.service] ?? [], stage) } })),
  setStages: (name, stages) => set((state) => ({ setup: { ...state.setup, [name]: stages } })),
  setPending: (name, action) => set((state) => ({ pending: { ...state.pending, [name]: action } })),
  setActionError: (name, error) => set((state) => ({ actionErrors: { ...state.actionErrors, [name]: error } })),
}));
