/**
 * Services: supervising the model servers (the DeepSeek Python service, `ollama serve`) and
 * their first-run setup. The app and the CLI use `createServiceManager` (the command
 * `parallel-vision services …` is electron/cli/services.ts).
 */
export { createServiceManager, type ServiceManager } from './manager.js';
