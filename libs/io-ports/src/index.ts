export { joinPath, type LogFile, type LogFileSystem } from './file-system';
export { MemoryFileSystem } from './memory-fs';
export { type Clock, type Scheduler } from './time';
