import { describe, expect, it } from 'vitest';
import type { ByteSource } from './byteSource.ts';
import { memoryDirectory, memoryStore } from '../testing/memoryStore.ts';
import { directoryStore, PARTIAL_SUFFIX, saveCheckpoint, textFile } from './opfs.ts';

const bytes = (...values: number[]) => Uint8Array.from(values);
const all = (source: ByteSource) => source.read(0, source.size);

describe('checkpoint store (the OPFS logic over an in-memory directory)', () => {
  it('streams chunks in, lists complete checkpoints with size and time, reads them back, replaces and removes', async () => {
    let clock = 1000;
    const store = directoryStore(memoryDirectory({ now: () => clock }));
    expect(await store.list()).toEqual([]);
    const sink = await store.sink('b.pt');
    await sink.write(bytes(1, 2, 3));
    const reused = bytes(4, 5);
    await sink.write(reused);
    reused.fill(9); // the store copied the chunk: the caller may reuse its array
    await sink.close();
    clock = 2000;
    const other = await store.sink('a.pt');
    await other.write(bytes(7));
    await other.close();

    expect(await store.list()).toEqual([
      { name: 'a.pt', size: 1, modified: 2000 },
      { name: 'b.pt', size: 5, modified: 1000 },
    ]);
    expect(await all(await store.source('b.pt'))).toEqual(bytes(1, 2, 3, 4, 5));
    expect((await store.source('b.pt')).name).toBe('b.pt');
    const file = await store.file('b.pt');
    expect([file.name, new Uint8Array(await file.arrayBuffer())]).toEqual(['b.pt', bytes(1, 2, 3, 4, 5)]);

    const again = await store.sink('b.pt');
    await again.write(bytes(6));
    await again.close();
    expect(await all(await store.source('b.pt'))).toEqual(bytes(6));

    await store.remove('b.pt');
    await store.remove('b.pt'); // nothing left to remove: not an error
    expect((await store.list()).map((c) => c.name)).toEqual(['a.pt']);
    await expect(store.source('b.pt')).rejects.toThrow('no checkpoint named "b.pt" is stored');
  });

  for (const move of [true, false]) {
    it(`an unfinished write never shows under the real name (${move ? 'move()' : 'no move(): copy'})`, async () => {
      const dir = memoryDirectory({ move });
      const store = directoryStore(dir);
      const first = await store.sink('run.pt');
      await first.write(bytes(1, 1));
      await first.close();

      // A save that dies half way (a crash, a closed tab): its sink is never closed.
      const dying = await store.sink('run.pt');
      await dying.write(bytes(2, 2, 2));
      expect(await store.list()).toEqual([expect.objectContaining({ name: 'run.pt', size: 2 })]);
      expect(await all(await store.source('run.pt'))).toEqual(bytes(1, 1));
      expect([...dir.files.keys()].sort()).toEqual(['run.pt', `run.pt${PARTIAL_SUFFIX}`]);

      // The next save of that name completes and replaces both.
      const next = await store.sink('run.pt');
      await next.write(bytes(3, 3, 3, 3));
      await next.close();
      expect(await all(await store.source('run.pt'))).toEqual(bytes(3, 3, 3, 3));
      expect([...dir.files.keys()]).toEqual(['run.pt']);
    });
  }

  it('a new name shows nothing until its write completes; remove also drops an unfinished write', async () => {
    const dir = memoryDirectory();
    const store = directoryStore(dir);
    const sink = await store.sink('new.pt');
    await sink.write(bytes(5));
    expect(await store.list()).toEqual([]);
    await expect(store.source('new.pt')).rejects.toThrow(/no checkpoint named/);
    await store.remove('new.pt');
    expect(dir.files.size).toBe(0);
  });

  it('saveCheckpoint aborts a failed write: the error comes through, the previous checkpoint stays, nothing is left over', async () => {
    const dir = memoryDirectory();
    const store = directoryStore(dir);
    await saveCheckpoint(store, 'run.pt', async (sink) => {
      await sink.write(bytes(1));
      await sink.close();
    });
    const failing = saveCheckpoint(store, 'run.pt', async (sink) => {
      await sink.write(bytes(2, 2));
      throw new Error('the device was lost');
    });
    await expect(failing).rejects.toThrow('the device was lost');
    expect(await all(await store.source('run.pt'))).toEqual(bytes(1));
    expect([...dir.files.keys()]).toEqual(['run.pt']);
  });

  it('refuses names that are not one plain file name', async () => {
    const store = memoryStore();
    for (const name of ['', '.', '..', 'a/b.pt', 'a\\b.pt', `x${PARTIAL_SUFFIX}`]) {
      await expect(store.sink(name), name).rejects.toThrow(/cannot name a checkpoint/);
      await expect(store.source(name), name).rejects.toThrow(/cannot name a checkpoint/);
    }
  });
});

describe('a settings text file (the OPFS logic over an in-memory directory)', () => {
  it('reads null while missing, then what was written last; a failed write leaves the last one', async () => {
    const dir = memoryDirectory({ quota: 40 });
    const file = textFile(async () => dir, 'kernel-choice.json');
    expect(await file.read()).toBeNull();
    await file.write('{"version": 1}');
    await file.write('{"version": 2}');
    expect(await file.read()).toBe('{"version": 2}');
    await expect(file.write('x'.repeat(100))).rejects.toThrow(/quota/);
    expect(await file.read()).toBe('{"version": 2}');
  });
});
