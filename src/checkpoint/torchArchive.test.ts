import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memorySink } from './byteSink.ts';
import { blobSource, type ByteSource } from './byteSource.ts';
import { bytesSource } from '../testing/bytesSource.ts';
import { CHECKPOINT_FIXTURES, expectMatchesTorch, expectedFixture } from '../testing/torchDescribed.ts';
import { fileSource, type FileSource } from './nodeFiles.ts';
import { PickleWriter } from './pickleWriter.ts';
import { isTensorRef, type LazyTensor } from './tensorRef.ts';
import { readTorchArchive } from './torchArchive.ts';
import type { PickleDict } from './unpickle.ts';
import { ZipWriter } from './zipWriter.ts';

const fixture = (name: string) => join(CHECKPOINT_FIXTURES, name);

const opened: FileSource[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

/** Every fixture is read both ways the app reads files: a Node file handle and a (file-backed) Blob. */
const SOURCES: [string, (name: string) => Promise<ByteSource>][] = [
  [
    'fileSource',
    async (name) => {
      const source = await fileSource(fixture(name));
      opened.push(source);
      return source;
    },
  ],
  ['blobSource', async (name) => blobSource(await openAsBlob(fixture(name)), name)],
];

/** A zip holding `entries`, made with our writer: for archives torch would never write. */
async function zipOf(entries: [string, Uint8Array][], name = 'crafted.pt'): Promise<ByteSource> {
  const sink = memorySink();
  const zip = new ZipWriter(sink);
  for (const [entry, data] of entries) await zip.add(entry, data);
  await zip.finish();
  return bytesSource(sink.bytes(), name);
}

const crafted = (pickle: Uint8Array, more: [string, Uint8Array][] = []) => zipOf([['crafted/data.pkl', pickle], ...more]);

describe('reading torch.save archives made by PyTorch 1.13', () => {
  for (const [label, open] of SOURCES) {
    for (const file of ['cosmos-tiny.pt', 'bare-state-dict.pt', 'streamed.pt', 'written-by-cosmos-web.pt']) {
      it(`${file} through ${label}: every value, every tensor bit for bit, storages shared as torch shares them`, async () => {
        const { tree } = await readTorchArchive(await open(file));
        await expectMatchesTorch(tree, expectedFixture(file));
      });
    }
  }

  it('names the archive folder after what torch.save used (the file stem)', async () => {
    expect((await readTorchArchive(await SOURCES[0]![1]('cosmos-tiny.pt'))).archiveName).toBe('cosmos-tiny');
  });

  it('gives views their layout: transpose, strided slice, expand, two offsets into one storage, a scalar', async () => {
    const tree = (await readTorchArchive(await SOURCES[0]![1]('bare-state-dict.pt'))).tree as PickleDict;
    const t = (key: string) => {
      const v = tree.get(key);
      if (!isTensorRef(v)) throw new Error(`${key} is not a tensor`);
      return v;
    };
    expect([t('transposed').shape, t('transposed').stride]).toEqual([
      [5, 3],
      [1, 5],
    ]);
    expect([t('strided').storageOffset, t('strided').stride]).toEqual([9, [7, 2]]);
    expect(t('expanded').stride).toEqual([1, 0]);
    expect([t('shared_a').storageOffset, t('shared_b').storageOffset]).toEqual([2, 10]);
    expect(t('shared_a').storageKey).toBe(t('shared_b').storageKey);
    expect([t('scalar').shape, await t('scalar').read()]).toEqual([[], Float32Array.of(3.25)]);
    expect([t('half').dtype, t('bfloat').dtype, t('long').dtype]).toEqual(['float16', 'bfloat16', 'int64']);
  });

  it('reads a tensor by its own bytes only, and nothing until asked', async () => {
    const file = await SOURCES[0]![1]('cosmos-tiny.pt');
    const reads: [number, number][] = [];
    const counting: ByteSource = {
      size: file.size,
      name: file.name,
      read(offset, length) {
        reads.push([offset, length]);
        return file.read(offset, length);
      },
    };
    const { tree } = await readTorchArchive(counting);
    const optimizer = (tree as PickleDict).get('optimizer') as PickleDict;
    const state = (optimizer.get('state') as PickleDict).get(0) as PickleDict;
    const expAvg = state.get('exp_avg');
    if (!isTensorRef(expAvg)) throw new Error('exp_avg is not a tensor');
    reads.length = 0;
    await expAvg.read();
    // One local header (30 bytes, to find where the entry's data starts), then exactly the tensor's bytes.
    expect(reads.map(([, n]) => n)).toEqual([30, expAvg.numel * 4]);
  });
});

describe('refusing what is not a sound checkpoint, with one sentence naming the file part', () => {
  const load = async (name: string) => readTorchArchive(await SOURCES[0]![1](name));

  it('a pickle that calls os.system', async () => {
    await expect(load('hostile.pt')).rejects.toThrow(
      "refusing to load hostile.pt: the checkpoint's pickle calls os.system, which is not an allowed torch rebuild function",
    );
  });

  it('other ways a pickle names a callable: INST, STACK_GLOBAL', async () => {
    const inst = new TextEncoder().encode('(S"ls"\nios\nsystem\n.');
    await expect(readTorchArchive(await crafted(inst))).rejects.toThrow('calls os.system, which is not an allowed');
    // Protocol 4: push 'builtins', 'eval', then STACK_GLOBAL (0x93).
    const p = new PickleWriter().str('builtins').str('eval').finish();
    const stackGlobal = Uint8Array.of(...p.subarray(0, p.length - 1), 0x93, 0x2e);
    await expect(readTorchArchive(await crafted(stackGlobal))).rejects.toThrow('calls builtins.eval, which is not an allowed');
  });

  it('a pickle that builds a self-containing list, or misuses the allowed functions', async () => {
    // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND, STOP
    const cycle = Uint8Array.of(0x80, 2, 0x5d, 0x71, 0, 0x68, 0, 0x61, 0x2e);
    await expect(readTorchArchive(await crafted(cycle))).rejects.toThrow(
      'crafted.pt: crafted/data.pkl cannot be loaded: it builds a container that contains itself',
    );
    const noStorage = new PickleWriter().global('torch._utils', '_rebuild_tensor_v2').mark().int(1).int(2).tuple().reduce().finish();
    await expect(readTorchArchive(await crafted(noStorage))).rejects.toThrow('_rebuild_tensor_v2 is called without a storage');
    // NEWOBJ (0x81) on an allowed function: constructing it is not calling it.
    const p = new PickleWriter().global('collections', 'OrderedDict').emptyTuple().finish();
    const newobj = Uint8Array.of(...p.subarray(0, p.length - 1), 0x81, 0x2e);
    await expect(readTorchArchive(await crafted(newobj))).rejects.toThrow('crafted/data.pkl cannot be loaded: the pickle is malformed');
  });

  it('a pickle that BUILDs state into a tensor (tensors are frozen)', async () => {
    const tensor = new PickleWriter()
      .global('torch._utils', '_rebuild_tensor_v2')
      .mark()
      .mark()
      .str('storage')
      .global('torch', 'FloatStorage')
      .str('0')
      .str('cpu')
      .int(1)
      .tuple()
      .persistentId()
      .int(0)
      .emptyTuple()
      .emptyTuple()
      .bool(false)
      .none()
      .tuple()
      .reduce()
      .emptyDict()
      .mark()
      .str('storageOffset')
      .int(1000)
      .setItems()
      .finish();
    const build = Uint8Array.of(...tensor.subarray(0, tensor.length - 1), 0x62, 0x2e); // BUILD, STOP
    const archive = await crafted(build, [['crafted/data/0', new Uint8Array(4)]]);
    await expect(readTorchArchive(archive)).rejects.toThrow('crafted/data.pkl cannot be loaded: the pickle is malformed (Cannot assign to read only property');
  });

  it('a pickle whose storage has no data entry', async () => {
    const pickle = new PickleWriter()
      .global('torch._utils', '_rebuild_tensor_v2')
      .mark()
      .mark()
      .str('storage')
      .global('torch', 'FloatStorage')
      .str('9')
      .str('cpu')
      .int(4)
      .tuple()
      .persistentId()
      .int(0)
      .mark()
      .int(4)
      .tuple()
      .mark()
      .int(1)
      .tuple()
      .bool(false)
      .none()
      .tuple()
      .reduce()
      .finish();
    await expect(readTorchArchive(await crafted(pickle))).rejects.toThrow(
      'crafted.pt is incomplete: the pickle uses storage 9, but there is no crafted/data/9 entry',
    );
  });

  it('a storage shorter than its tensor needs', async () => {
    await expect(load('short-storage.pt')).rejects.toThrow(
      'short-storage.pt: small/data/0 is shorter than its tensor needs: it holds 20 bytes, the pickle declares 6 float32 values (24 bytes)',
    );
  });

  it('a view reaching past its storage', async () => {
    const pickle = new PickleWriter()
      .global('torch._utils', '_rebuild_tensor_v2')
      .mark()
      .mark()
      .str('storage')
      .global('torch', 'FloatStorage')
      .str('0')
      .str('cpu')
      .int(4)
      .tuple()
      .persistentId()
      .int(2)
      .mark()
      .int(3)
      .tuple()
      .mark()
      .int(1)
      .tuple()
      .bool(false)
      .none()
      .tuple()
      .reduce()
      .finish();
    await expect(readTorchArchive(await crafted(pickle, [['crafted/data/0', new Uint8Array(16)]]))).rejects.toThrow(
      'crafted.pt: crafted/data/0 is shorter than its tensor needs: it holds 4 float32 values, but a tensor of shape [3] (stride [1], offset 2) reaches value 5',
    );
  });

  it('views that repeat their stored values: read as torch reads them when small, refused when they would fill memory', async () => {
    /** One float32 tensor over a storage of `stored` values, with the given size and stride (offset 0). */
    const view = (stored: number, size: number[], stride: number[]) => {
      const pickle = new PickleWriter().global('torch._utils', '_rebuild_tensor_v2').mark();
      pickle.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(stored).tuple().persistentId().int(0);
      pickle.mark();
      for (const n of size) pickle.int(n);
      pickle.tuple().mark();
      for (const n of stride) pickle.int(n);
      const storage = new Uint8Array(new Float32Array(stored).map((_, i) => i + 1).buffer);
      return crafted(pickle.tuple().bool(false).none().tuple().reduce().finish(), [['crafted/data/0', storage]]);
    };
    // torch.tensor([1., 2.]).expand(3, 2) saved as it is: stride (0, 1).
    const expanded = (await readTorchArchive(await view(2, [3, 2], [0, 1]))).tree as LazyTensor;
    expect([...(await expanded.read())]).toEqual([1, 2, 1, 2, 1, 2]);
    // A few bytes asking for 8 GiB: refused before anything is allocated.
    await expect(readTorchArchive(await view(1, [2 ** 31], [0]))).rejects.toThrow(
      'crafted.pt: crafted/data/0: a tensor of shape [2147483648] (stride [0]) repeats 1 stored value into 2147483648; at most 16777216 repeated values are read',
    );
  });

  it('compressed entries', async () => {
    await expect(load('deflated.pt')).rejects.toThrow('deflated.pt: entry small/data.pkl is compressed (zip method 8)');
  });

  it('a truncated file, a file that is no zip, a zip without data.pkl', async () => {
    const whole = await readFile(fixture('cosmos-tiny.pt'));
    const cut = bytesSource(whole.subarray(0, whole.length - 100), 'cut.pt');
    await expect(readTorchArchive(cut)).rejects.toThrow('cut.pt is truncated: it starts like a zip archive but has no end-of-central-directory record');
    const text = bytesSource(new TextEncoder().encode('just some text, no zip here'.repeat(3)), 'notes.txt');
    await expect(readTorchArchive(text)).rejects.toThrow('notes.txt is not a zip archive (no end-of-central-directory record)');
    const other = await zipOf([['photos/cat.jpg', new Uint8Array(10)]], 'photos.zip');
    await expect(readTorchArchive(other)).rejects.toThrow(
      'photos.zip is a zip archive but not a PyTorch checkpoint: it has no <archive>/data.pkl entry (entries: photos/cat.jpg)',
    );
  });

  it('a read past the end of a source', async () => {
    const blob = blobSource(new Blob([new Uint8Array(100)]), 'small.bin');
    await expect(blob.read(50, 100)).rejects.toThrow('small.bin is truncated: a read needs bytes 50..150 but the file has 100 bytes');
  });
});
