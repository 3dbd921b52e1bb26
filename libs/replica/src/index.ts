/**
 * The storage node's replica: the partitions it hosts and how they replicate, with every
 * effect (files, time, the network, the controller) behind an injected port, so the same code
 * runs in the storage node and under the seeded cluster simulator.
 */
export {};

// The node's lifecycle with the controller (registration, heartbeats, controlled shutdown, ISR change requests) over the controller port.
export { type ControllerPort, type NodeHeartbeat, type NodeRegistration, type NodeRegistrationRequest } from './controller-port';
export {
  NodeLifecycle,
  controlledShutdownRetryMs,
  controllerRetryBackoffMsInitial,
  controllerRetryBackoffMsMax,
  isrChangeAttemptsMaxDefault,
  type ControlledShutdownOutcome,
  type NodeLifecycleLogger,
  type NodeLifecycleOptions,
} from './node-lifecycle';
