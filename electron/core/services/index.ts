/**
 * Services: supervising the model servers (the DeepSeek Python service, `ollama serve`) and
 * their first-run setup. The app and the CLI use `createServiceManager`; the CLI's
 * `parallel-vision services …` dispatches to `runServicesCommand`.
 */
export { createServiceManager, readMemoryPressure, type ManagedServiceName, type ServiceManager, type ServiceManagerOptions } from './manager.js';
export { runServicesCommand, formatStatusTable, DEFAULT_DEEPSEEK_DIR, type ServicesCommandIo } from './cli.js';
export type { ServiceEvents } from './events.js';
export type { StartOutcome } from './supervisor.js';
export type { MemoryPressure } from './memory.js';
export { deepseekVenvDir, venvPython, defaultDeepSeekBackend, DEEPSEEK_DEFAULT_PORT, OLLAMA_DEFAULT_PORT, type DeepSeekBackend } from './specs.js';
export { BinaryFinder, nodeDiscoveryHost, type DiscoveryHost } from './discovery.js';
