export { batchRecordsMax, buildBatch, readBatch, rebuildBatch, type BatchOptions, type DecodedBatch } from './batch';
export {
  BatchAttribute,
  BatchField,
  batchHeaderBytes,
  batchLogOverheadBytes,
  batchSize,
  countRecords,
  currentMagic,
  lastOffset,
  readBatchHeader,
  scanBatches,
  setBaseOffset,
  setPartitionLeaderEpoch,
  validateBatch,
  type BatchHeader,
  type BatchSlice,
  type ScanResult,
} from './batch-header';
export { Compression, compress, compressionNames, decompress, decompressedBytesMax, isCompression, isXerialSnappy } from './compression';
export { crc32c } from './crc32c';
export { decodeRecords, encodeRecords, recordHeadersMax, type NewRecord, type RecordHeader, type StoredRecord } from './records';
export { readVarint, varintBytesMax, varintSize, varlongBytesMax, writeVarint } from './varint';
