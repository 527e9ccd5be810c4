/** App-wide UI state: which screen is open and the errors the backend reported. */
import { create } from 'zustand';

export const SCREENS = ['run', 'results', 'compare', 'services', 'export'] as const;
export type Screen = (typeof SCREENS)[number];

interface AppNotice {
  id: number;
  /** Errors get the error style; `info` is news worth a sentence (a service restarted, …). */
  kind: 'error' | 'info';
  message: string;
  where?: string;
}

interface AppState {
  screen: Screen;
  notices: AppNotice[];
  show(screen: Screen): void;
  notify(message: string, where?: string, kind?: AppNotice['kind']): void;
  dismiss(id: number): void;
}

let nextNotice = 1;
const MAX_NOTICES = 4;

export const useApp = create<AppState>((set) => ({
  screen: 'run',
  notices: [],
  show: (screen) => set({ screen }),
  notify: (message, where, kind = 'error') =>
    set((state) => {
      // The same error repeating (a crash loop) is one notice, not a wall of them.
      if (state.notices.some((n) => n.message === message && n.where === where)) return {};
      return { notices: [...state.notices, { id: nextNotice++, kind, message, where }].slice(-MAX_NOTICES) };
    }),
  dismiss: (id) => set((state) => ({ notices: state.notices.filter((n) => n.id !== id) })),
}));
