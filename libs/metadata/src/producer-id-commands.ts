/** Producer id blocks, handed out by the controller and never twice. */
import { StarlaneError } from '@starlane/model';
import { type ControllerState } from './controller-state';
import { producerIdMax, type CommandOutcome } from './commands';

/** Producer ids handed out per block when the caller does not say (Kafka's block size). */
export const producerIdBlockSizeDefault = 1000;
/** Largest producer id block handed out at once. */
export const producerIdBlockSizeMax = 100_000;
/** Producer ids are int64. */

// ---------------------------------------------------------------------------
// Producer ids

/** Hands out `count` ids (0 or less means the default block size), never the same id twice. */
export function allocateProducerIds(state: ControllerState, count: number): CommandOutcome<{ firstProducerId: bigint; count: number }> {
  const size = count <= 0 ? producerIdBlockSizeDefault : Math.min(count, producerIdBlockSizeMax);
  const first = state.nextProducerId;
  const next = first + BigInt(size);
  if (next > producerIdMax) throw new StarlaneError('UNKNOWN_SERVER_ERROR', 'producer ids are exhausted');
  return { result: { firstProducerId: first, count: size }, records: [{ type: 'producer-ids', nextProducerId: next }] };
}
