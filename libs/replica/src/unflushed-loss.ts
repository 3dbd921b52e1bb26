/**
 * Whether a node's data can have lost writes it had not flushed, which is what a node reports
 * to the controller at registration (RegisterNode `clean_shutdown`, KIP-966) for elections and
 * the eligible leader replicas.
 *
 * A node acknowledges a write once it is in the log file, not once it is on the disk (as Kafka,
 * which leaves flushing to the OS): until the OS flushes it, the write lives in the kernel's
 * page cache. The page cache belongs to the kernel, not to the process, so a process that is
 * killed (SIGKILL, the OOM killer, a container restart) loses none of its writes: the next
 * process of the same boot reads them back. Only the end of a boot (power loss, kernel panic,
 * reboot) loses unflushed writes. Linux draws a new random `/proc/sys/kernel/random/boot_id` at
 * every boot, so the node records the boot its data lives in and compares it at start.
 *
 * Nothing can have been lost when the data is not new and either the previous run stopped
 * cleanly (every log closed, so flushed) or the data's unflushed writes belong to this very
 * boot. A new or wiped data directory lost whatever it held before (the controller withdraws
 * nothing for a node it never registered, so a first start is unaffected). A boot id that
 * cannot be read counts as another boot.
 */

/** Reads the id of the running boot (Linux: `/proc/sys/kernel/random/boot_id`); undefined when it cannot be read. */
export type BootIdReader = () => Promise<string | undefined>;

/** What a start knows of the data it opens. */
export interface DataAtStart {
  /** The data directory was created by this start: new, or wiped (what it held is gone). */
  readonly isNew: boolean;
  /** The previous run stopped cleanly: every log was closed, so every write flushed. */
  readonly stoppedCleanly: boolean;
  /** The boot whose page cache holds every unflushed write of the data, if known (see `bootIdToRecord`). */
  readonly bootId: string | undefined;
}

/** Whether no unflushed write of the data can have been lost: what registration reports as `clean_shutdown`. */
export function nothingUnflushedLost(data: DataAtStart, currentBootId: string | undefined): boolean {
  if (data.isNew) return false;
  if (data.stoppedCleanly) return true;
  return knownBootId(data.bootId) !== undefined && knownBootId(data.bootId) === knownBootId(currentBootId);
}

/**
 * The boot id a start records with the data before any log opens: the current boot when
 * nothing was lost, else none, until the controller has registered the incarnation that
 * reported the loss (then the current boot: `bootIdOnceRegistered`). Without that, a process killed
 * after a power loss but before it registered would come back in the same boot and report
 * nothing lost, and the controller would never hear of the loss.
 */
export function bootIdToRecord(lostNothing: boolean, currentBootId: string | undefined): string | undefined {
  return lostNothing ? knownBootId(currentBootId) : undefined;
}

/** The boot id to record once the controller registered an incarnation: it has heard of any loss. */
export function bootIdOnceRegistered(currentBootId: string | undefined): string | undefined {
  return knownBootId(currentBootId);
}

function knownBootId(bootId: string | undefined): string | undefined {
  const trimmed = bootId?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
