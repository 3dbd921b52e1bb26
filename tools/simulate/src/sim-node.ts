/**
 * The storage node's replica code as the simulator runs it: ReplicaNode and NodeLifecycle of
 * @starlane/replica wired to the SimNode port of @starlane/testing (its disk, timers,
 * controller link and fetch streams).
 *
 * Not wired yet: the replica library does not have ReplicaNode and NodeLifecycle yet. Until it
 * does, there is no node to simulate and `simulate` refuses to run rather than simulate
 * something else under Starlane's name.
 */
import type { SimNodeFactory } from '@starlane/testing';

export const replicaNodeFactory: SimNodeFactory<unknown, unknown> | undefined = undefined;
