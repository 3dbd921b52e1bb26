export { NodeFileSystem } from './node-fs';
export { systemClock, timerScheduler } from './time';
