import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memorySink, type ByteSink } from './byteSink.ts';
import { bytesSource } from '../testing/bytesSource.ts';
import { expectMatchesTorch, expectedFixture, type Described } from '../testing/torchDescribed.ts';
import { fileSink } from './nodeFiles.ts';
import { readSafetensors, writeSafetensors } from './safetensors.ts';
import type { TensorSource } from './tensorRef.ts';
import { readTorchArchive } from './torchArchive.ts';
import { pyDict, pyFloat, pyTuple, writeTorchCheckpoint, type WritableKey, type WritableValue } from './torchWriter.ts';
import { WRITTEN_FIXTURE_ARCHIVE, WRITTEN_FIXTURE_PATH, writtenFixtureTree } from '../testing/writtenFixture.ts';
import { ZipReader } from './zipReader.ts';
import { livePythonScript, PYTHON } from '../testing/python.ts';

const LIVE = livePythonScript('checkpoints.py');

async function writeToMemory(tree: WritableValue, archiveName?: string): Promise<Uint8Array> {
  const sink = memorySink();
  await writeTorchCheckpoint(tree, sink, { archiveName });
  return sink.bytes();
}

/** What torch.load reads from `path`, through the fixture script's `describe`. */
function torchDescribe(path: string): Described {
  const run = spawnSync(PYTHON, [LIVE.path, 'describe', path], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`torch.load failed on ${path}:\n${run.stderr}`);
  return JSON.parse(run.stdout) as Described;
}

/** The explicit Python types (tuple, not list; float, not int; dict with int keys, not OrderedDict) beside the defaults. */
const typedTree = (): WritableValue => ({
  betas: pyTuple([pyFloat(0.9), pyFloat(1)]),
  empty: pyTuple([]),
  zeros: [pyFloat(0), pyFloat(-0), 0],
  state: pyDict(
    new Map<WritableKey, WritableValue>([
      [3, { step: pyFloat(2) }],
      [-1, 'a'],
      ['s', pyTuple([1, 'x'])],
    ]),
  ),
  odict: new Map([[1, 2]]),
});

describe('writeTorchCheckpoint', () => {
  it('wrote the committed fixture: writing the same tree again gives the same bytes', async () => {
    const bytes = await writeToMemory(writtenFixtureTree(), WRITTEN_FIXTURE_ARCHIVE);
    expect(Buffer.from(bytes).equals(readFileSync(WRITTEN_FIXTURE_PATH))).toBe(true);
  });

  it('torch.load (PyTorch 1.13, recorded by the fixture script) read back exactly what we wrote', async () => {
    const torchRead = expectedFixture('written-by-cosmos-web.pt');
    await expectMatchesTorch(writtenFixtureTree(), torchRead);
    // A Map is written as an OrderedDict (like a state_dict), a plain object as a dict.
    const top = 'dict' in torchRead ? torchRead.dict : [];
    const kinds = Object.fromEntries(top.map(([k, v]) => [(k as { str: string }).str, Object.keys(v)[0]]));
    expect(kinds).toMatchObject({ student: 'odict', teacher: 'odict', optimizer: 'dict', misc: 'list' });
  });

  it('lays entries out as torch does: data 64-byte aligned, version and byteorder records, ZIP64 end records', async () => {
    const bytes = await writeToMemory(writtenFixtureTree());
    const zip = await ZipReader.open(bytesSource(bytes, 'written.pt'));
    const names = [...zip.entries.keys()];
    expect(names.slice(0, 3)).toEqual(['archive/data.pkl', 'archive/byteorder', 'archive/data/0']);
    expect(names.at(-1)).toBe('archive/version');
    expect(names.filter((n) => n.includes('/data/'))).toHaveLength(9); // 10 tensors, one tied pair
    const text = async (name: string) => new TextDecoder().decode(await zip.readAll(zip.entries.get(name)!));
    expect([await text('archive/version'), await text('archive/byteorder')]).toEqual(['3\n', 'little']);
    for (const entry of zip.entries.values()) {
      const header = new DataView(bytes.buffer, entry.localHeaderOffset, 30);
      const start = entry.localHeaderOffset + 30 + header.getUint16(26, true) + header.getUint16(28, true);
      expect(start % 64, entry.name).toBe(0);
    }
    const tail = new DataView(bytes.buffer, bytes.length - 42, 42);
    expect([tail.getUint32(0, true), tail.getUint32(20, true)]).toEqual([0x07064b50, 0x06054b50]);
  });

  it('streams: each tensor is read just before its bytes go to the sink, never all at once', async () => {
    const events: string[] = [];
    const source = (i: number): TensorSource => ({
      shape: [1000],
      async read() {
        events.push(`read ${i}`);
        return new Float32Array(1000).fill(i);
      },
    });
    const sink: ByteSink = {
      async write(chunk) {
        if (chunk.byteLength === 4000) events.push(`write ${new Float32Array(chunk.slice().buffer)[0]}`);
      },
      async close() {
        events.push('close');
      },
    };
    await writeTorchCheckpoint(
      new Map([
        ['a', source(1)],
        ['b', source(2)],
        ['c', source(3)],
      ]),
      sink,
    );
    expect(events).toEqual(['read 1', 'write 1', 'read 2', 'write 2', 'read 3', 'write 3', 'close']);
  });

  it('refuses values it cannot write faithfully', async () => {
    const loop: WritableValue[] = [];
    loop.push(loop);
    await expect(writeToMemory({ loop })).rejects.toThrow('cannot write loop[0]: it contains itself');
    const items: WritableValue[] = [];
    items.push(pyTuple(items));
    await expect(writeToMemory({ items })).rejects.toThrow('cannot write items[0][0]: it contains itself');
    const wrong: TensorSource = { shape: [2, 2], read: async () => new Float32Array(3) };
    await expect(writeToMemory({ w: wrong })).rejects.toThrow('tensor w: read() gave 3 values for shape [2, 2] (4 values)');
  });

  it('writes a tuple, an integral float and a plain dict with int keys where asked; our reader reads them back', async () => {
    const { tree } = await readTorchArchive(bytesSource(await writeToMemory(typedTree()), 'typed.pt'));
    // Our reader gives tuples as arrays and every dict as a Map; torch's types are checked live below.
    expect(tree).toEqual(
      new Map<unknown, unknown>([
        ['betas', [0.9, 1]],
        ['empty', []],
        ['zeros', [0, -0, 0]],
        [
          'state',
          new Map<unknown, unknown>([
            [3, new Map([['step', 2]])],
            [-1, 'a'],
            ['s', [1, 'x']],
          ]),
        ],
        ['odict', new Map([[1, 2]])],
      ]),
    );
  });

  it.skipIf(LIVE.skipped !== null)(
    `torch.load reads pyTuple as a tuple, pyFloat as a float, pyDict as a dict${LIVE.skipped ? ` (skipped: ${LIVE.skipped})` : ''}`,
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cosmos-checkpoint-'));
      try {
        const path = join(dir, 'typed.pt');
        await writeTorchCheckpoint(typedTree(), await fileSink(path), { archiveName: 'typed' });
        const str = (s: string) => ({ str: s });
        expect(torchDescribe(path)).toEqual({
          dict: [
            [str('betas'), { tuple: [{ float: 0.9 }, { float: 1 }] }],
            [str('empty'), { tuple: [] }],
            [str('zeros'), { list: [{ float: 0 }, { float: -0 }, { int: 0 }] }],
            [
              str('state'),
              {
                dict: [
                  [{ int: 3 }, { dict: [[str('step'), { float: 2 }]] }],
                  [{ int: -1 }, str('a')],
                  [str('s'), { tuple: [{ int: 1 }, str('x')] }],
                ],
              },
            ],
            [str('odict'), { odict: [[{ int: 1 }, { int: 2 }]] }],
          ],
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it.skipIf(LIVE.skipped !== null)(
    `round trip: torch.load reads a file we just wrote bit for bit${LIVE.skipped ? ` (skipped: ${LIVE.skipped})` : ''}`,
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cosmos-checkpoint-'));
      try {
        const path = join(dir, 'round-trip.pt');
        const tree: WritableValue = {
          ...(writtenFixtureTree() as Record<string, WritableValue>),
          // Python ints of every width, negative ones included: BININT, then LONG1 two's complement.
          ints: [0, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 53, -(2 ** 53), 123456789012345678901234567890n, -(2n ** 64n)],
          big: { shape: [300, 7], read: async () => Float32Array.from({ length: 2100 }, (_, i) => Math.sin(i) * 1e3) },
        };
        await writeTorchCheckpoint(tree, await fileSink(path), { archiveName: 'round-trip' });
        await expectMatchesTorch(tree, torchDescribe(path));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('safetensors writer', () => {
  it('writes what the reader gives back, header aligned to 8 bytes', async () => {
    const values = Float32Array.from({ length: 15 }, (_, i) => i / 7 - 1);
    const sink = memorySink();
    const tensors = new Map<string, TensorSource>([
      ['w', { shape: [3, 5], read: async () => values }],
      ['s', { shape: [], read: async () => Float32Array.of(-0) }],
    ]);
    await writeSafetensors(tensors, sink, { metadata: { made_by: 'cosmos-web' } });
    const bytes = sink.bytes();
    expect((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 8).toBe(0);
    const file = await readSafetensors(bytesSource(bytes, 'written.safetensors'));
    expect(file.metadata).toEqual({ made_by: 'cosmos-web' });
    expect(await file.tensors.get('w')!.read()).toEqual(values);
    expect(Object.is((await file.tensors.get('s')!.read())[0], -0)).toBe(true);
    expect(file.tensors.get('s')!.shape).toEqual([]);
  });
});
