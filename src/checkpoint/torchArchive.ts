/**
 * Opens a `torch.save` zip archive: finds `<archive>/data.pkl`, unpickles it safely, and ties every storage it
 * names to its `<archive>/data/<key>` entry. Nothing but the central directory and the pickle is read here.
 */
import { FileError } from '../fileError.ts';
import type { ByteSource } from './byteSource.ts';
import { crc32 } from './crc32.ts';
import { ITEM_SIZE } from './dtypes.ts';
import type { Storage } from './tensorRef.ts';
import { unpickle, type PickleValue } from './unpickle.ts';
import { ZipReader, type ZipEntry } from './zipReader.ts';
import { printable } from '../format.ts';

export interface TorchArchive {
  /** The folder every entry sits in: the file's stem for torch.save to a path, "archive" for a stream. */
  archiveName: string;
  tree: PickleValue;
}

/** The released checkpoints' pickles are ~100 KB; anything this large is not a checkpoint's pickle. */
const MAX_PICKLE_BYTES = 256 << 20;

function findPickle(zip: ZipReader): ZipEntry {
  const name = zip.source.name;
  const pickles = [...zip.entries.values()].filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (pickles.length === 1) return pickles[0]!;
  const listed = [...zip.entries.keys()].slice(0, 8).join(', ');
  if (pickles.length === 0) {
    throw new FileError(name, `${name} is a zip archive but not a PyTorch checkpoint: it has no <archive>/data.pkl entry (entries: ${listed || 'none'})`);
  }
  throw new FileError(name, `${name} holds several checkpoints (${pickles.map((e) => e.name).join(', ')}); expected one <archive>/data.pkl`);
}

async function checkByteOrder(zip: ZipReader, archiveName: string): Promise<void> {
  const entry = zip.entries.get(`${archiveName}/byteorder`);
  if (!entry) return; // torch before 2.1 writes none: little-endian
  const order = new TextDecoder().decode(await zip.readAll(entry)).trim();
  if (order !== 'little') throw new FileError(zip.source.name, `${zip.source.name} was saved ${order}-endian; only little-endian checkpoints can be read`);
}

export async function readTorchArchive(source: ByteSource): Promise<TorchArchive> {
  const zip = await ZipReader.open(source);
  const pickleEntry = findPickle(zip);
  const archiveName = pickleEntry.name.slice(0, pickleEntry.name.indexOf('/'));
  await checkByteOrder(zip, archiveName);
  if (pickleEntry.size > MAX_PICKLE_BYTES) {
    throw new FileError(source.name, `${source.name}: ${pickleEntry.name} is ${pickleEntry.size} bytes, far larger than any checkpoint's pickle`);
  }
  const pickle = await zip.readAll(pickleEntry);
  if (crc32(pickle) !== pickleEntry.crc32) throw new FileError(source.name, `${source.name} is damaged: ${pickleEntry.name} fails its CRC-32 check`);

  const storages = new Map<string, Storage>();
  const tree = unpickle(pickle, source.name, pickleEntry.name, (key, dtype, numel) => {
    const known = storages.get(key);
    if (known) {
      if (known.dtype !== dtype) throw new FileError(source.name, `${known.where} is used both as ${known.dtype} and as ${dtype}`);
      return known;
    }
    const entryName = `${archiveName}/data/${key}`;
    const where = `${source.name}: ${entryName}`;
    const entry = zip.entries.get(entryName);
    if (!entry)
      throw new FileError(
        source.name,
        `${source.name} is incomplete: the pickle uses storage ${printable(key, 40)}, but there is no ${printable(entryName, 80)} entry`,
      );
    zip.checkStored(entry);
    if (entry.size < numel * ITEM_SIZE[dtype]) {
      throw new FileError(
        source.name,
        `${where} is shorter than its tensor needs: it holds ${entry.size} bytes, the pickle declares ${numel} ${dtype} values (${numel * ITEM_SIZE[dtype]} bytes)`,
      );
    }
    const storage: Storage = { key, dtype, numel, where, read: (offset, length) => zip.read(entry, offset, length) };
    storages.set(key, storage);
    return storage;
  });
  return { archiveName, tree };
}
