/**
 * The storage node's replica: the partitions it hosts and how they replicate, with every
 * effect (files, time, the network, the controller) behind an injected port, so the same code
 * runs in the storage node and under the seeded cluster simulator.
 */
export {};
