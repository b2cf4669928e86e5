/** Checkpoints in and out, browser-safe (Node's file source and sink are in nodeFiles.ts). */
export { blobSource, bytesSource, type ByteSource } from './byteSource.ts';
export { memorySink, writableStreamSink, type ByteSink, type MemorySink } from './byteSink.ts';
export type { DType } from './dtypes.ts';
export { isTensorRef, type TensorRef, type TensorSource } from './tensorRef.ts';
export { readTorchArchive, type TorchArchive } from './torchArchive.ts';
export type { PickleDict, PickleKey, PickleValue } from './unpickle.ts';
export { loadCheckpoint, type CheckpointMeta, type LoadedCheckpoint, type WeightsChoice } from './loadCheckpoint.ts';
export { writeTorchCheckpoint, type WritableKey, type WritableValue, type WriteOptions } from './torchWriter.ts';
export { readSafetensors, writeSafetensors, type SafetensorsFile } from './safetensors.ts';
export { checkKeys } from './checkKeys.ts';
