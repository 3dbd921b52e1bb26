/**
 * InitProducerId without transactions: fresh ids come from blocks the controller hands out
 * (AllocateProducerIds, as Kafka's KIP-730), so gateways never coordinate with each other and
 * an id is never given twice. A bump keeps the id and raises the epoch, or starts a fresh id at
 * epoch 0 when the epoch would pass Kafka's int16 range.
 */
import { StarlaneError } from '@starlane/model';
import { producerEpochMax, producerIdBlockSize } from '../limits';

export interface ProducerIdSource {
  allocate(count: number): Promise<{ first: bigint; count: number }>;
}

export interface ProducerIdentity {
  readonly producerId: bigint;
  readonly producerEpoch: number;
}

export class ProducerIdAllocator {
  private next = 0n;
  private end = 0n;
  /** One block request at a time; callers that find the block empty wait for it. */
  private refill: Promise<void> | undefined;

  constructor(private readonly source: ProducerIdSource) {}

  /** A fresh identity, or `current` with the next epoch. Throws INVALID_REQUEST or COORDINATOR_NOT_AVAILABLE. */
  async init(current: ProducerIdentity | undefined): Promise<ProducerIdentity> {
    if (current !== undefined) {
      if (current.producerId < 0n) throw new StarlaneError('INVALID_REQUEST', `producer_id ${current.producerId} is negative`);
      if (current.producerEpoch < 0 || current.producerEpoch > producerEpochMax) {
        throw new StarlaneError('INVALID_REQUEST', `producer_epoch ${current.producerEpoch} is outside 0..${producerEpochMax}`);
      }
      if (current.producerEpoch < producerEpochMax) return { producerId: current.producerId, producerEpoch: current.producerEpoch + 1 };
    }
    return { producerId: await this.freshId(), producerEpoch: 0 };
  }

  private async freshId(): Promise<bigint> {
    for (;;) {
      if (this.next < this.end) {
        const id = this.next;
        this.next += 1n;
        return id;
      }
      this.refill ??= this.source
        .allocate(producerIdBlockSize)
        .then(
          (block) => {
            this.next = block.first;
            this.end = block.first + BigInt(block.count);
          },
          (error: unknown) => {
            const detail = error instanceof Error ? error.message : String(error);
            throw new StarlaneError('COORDINATOR_NOT_AVAILABLE', `no producer id block could be obtained from the controller (${detail})`);
          },
        )
        .finally(() => {
          this.refill = undefined;
        });
      await this.refill;
    }
  }
}
