import { ServicesList } from '../features/services/ServicesList.js';

export function App() {
  return (
    <div className="flex h-full flex-col">
      <header className="flex items-center gap-3 border-b border-zinc-200 px-5 py-3 dark:border-zinc-800">
        <h1 className="text-lg font-semibold">Parallel Vision</h1>
      </header>
      <main className="flex-1 overflow-auto p-5">
        <h2 className="mb-3 text-base font-semibold">Services</h2>
        <ServicesList />
      </main>
    </div>
  );
}
