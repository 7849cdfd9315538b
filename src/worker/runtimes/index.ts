export type { Runtime, RunOutcome, RunRequest } from './runtime.js';
export { createShellRuntime, type ShellRuntimeOptions } from './shell.js';
export { createLuaRuntime, type LuaRuntimeOptions } from './lua.js';
export type { SpawnProcess, SpawnRequest } from './process-group.js';
export { createContainerRuntime, detectContainerRuntime, type ContainerRuntimeOptions } from './container.js';
