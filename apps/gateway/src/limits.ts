/**
 * The gateway's named bounds. Every queue, batch and wait it keeps is limited by one of these
 * (or by an option with the same meaning); docs/gateway.md explains each.
 */

/** Requests a ProduceStream may have read but not yet answered; the server stops reading
 * beyond it, so HTTP/2 flow control pushes back on the producer. */
export const produceStreamUnansweredMax = 64;

/** AppendStream requests in flight to one storage node; more wait in the node's send queue. */
export const appendInflightRequestsMax = 128;

/** Bytes of record batches one AppendStream request may carry when the gateway merges queued
 * writes into it (a single larger write still goes alone). */
export const appendRequestBytesMax = 8 * 1024 * 1024;

/** Partitions one merged AppendStream request may name: the storage node refuses more (its
 * `appendPartitionsMax`, part of the internal contract). */
export const appendPartitionsMax = 10_000;

/** ReadStream requests in flight to one storage node; more wait in the node's send queue. */
export const readInflightRequestsMax = 1024;

/** Requests waiting in one node connection's send queue (append or read); beyond it new ones
 * fail with THROTTLING_QUOTA_EXCEEDED instead of queueing without bound. */
export const nodeSendQueueMax = 100_000;

/** Bytes of acks=NONE writes answered but not yet settled, gateway-wide; beyond it acks=NONE
 * requests wait for earlier ones (see ProduceHandler). */
export const noAckBytesMax = 64 * 1024 * 1024;

/** The produce timeout when a request says 0 (Kafka's request.timeout.ms default is 30 s). */
export const produceTimeoutMsDefault = 30_000;
/** Largest produce timeout honoured; longer ones are clamped. */
export const produceTimeoutMsMax = 300_000;

/** First wait before re-sending a write that failed on a leader change, doubled per attempt. */
export const retryBackoffMsInitial = 10;
/** Longest wait between two attempts of one write. */
export const retryBackoffMsMax = 250;

/** First wait before calling the controller again after a redirect that named no new controller,
 * or when none could be reached; doubled per attempt. */
export const controllerRetryBackoffMsInitial = 50;
/** Longest wait between two attempts of one controller call. */
export const controllerRetryBackoffMsMax = 1000;

/** Fetch: default and largest whole-response size. */
export const fetchBytesDefault = 50 * 1024 * 1024;
export const fetchBytesMax = 50 * 1024 * 1024;
/** Fetch: default per-partition size (Kafka's max.partition.fetch.bytes). */
export const fetchPartitionBytesDefault = 1024 * 1024;
/** Fetch: longest long-poll honoured. */
export const fetchWaitMsMax = 60_000;
/** Fetch and Subscribe: most partitions in one request. */
export const fetchPartitionsMax = 10_000;

/** Subscribe: default and largest record bytes in one pushed message. */
export const subscribeMessageBytesDefault = 1024 * 1024;
export const subscribeMessageBytesMax = 16 * 1024 * 1024;
/** Subscribe: how long one outstanding read waits at the storage node before it is renewed.
 * Short enough that a partition moved to this node joins its read group soon. */
export const subscribeReadWaitMs = 500;
/** Subscribe: how long a partition may stay without a usable leader before it is reported and dropped. */
export const subscribeLeaderWaitMsMax = 30_000;

/** Admin: how long the gateway waits for its own metadata to show a change it forwarded, when the request gives no timeout. */
export const adminMetadataWaitMsDefault = 10_000;
/** Admin: the deadline of a forwarded call when the request gives none. */
export const adminCallTimeoutMsDefault = 30_000;
/** Admin: redirects followed to find the active controller for one call. */
export const controllerRedirectsMax = 5;

/** Producer ids asked of the controller at a time (Kafka's KIP-730 block size). */
export const producerIdBlockSize = 1000;
/** Kafka's producer epoch is an int16. */
export const producerEpochMax = 32767;

/** Records one structured produce entry may hold (each becomes one batch). */
export const produceRecordsMax = 100_000;
