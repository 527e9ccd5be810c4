import { create } from 'zustand';
import type { ServiceInfo } from '../../../shared/domain.js';

interface ServicesState {
  services: ServiceInfo[];
  loading: boolean;
  error: string | null;
  setAll(services: ServiceInfo[]): void;
  upsert(service: ServiceInfo): void;
  setError(error: string | null): void;
}

export const useServices = create<ServicesState>((set) => ({
  services: [],
  loading: true,
  error: null,
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
}));
