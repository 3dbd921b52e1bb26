export { KubeApiServer, bookmarkIntervalMsDefault, requestBodyBytesMax, requestLogEntriesMax } from './server';
export type { KubeApiServerOptions, RequestRecord } from './server';
export type { RequestMatch } from './faults';
export { FaultInjector } from './faults';
export { watchHistoryEventsMax } from './store';
export { watchBufferedBytesMax } from './watch';
export type { KubeObject } from './store';
export { KubeStatusError } from './status';
