export { murmur2, partitionForKey, toPositive } from './partitioner';
