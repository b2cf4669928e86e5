import { describe, expect, it } from 'vitest';
import { evalFile, evalTruth } from '../testing/evalData.ts';
import { isTarSkip, readTar, type TarMember, type TarSkip } from './tar.ts';
import { tarArchive, tarHeader } from './tarWriter.ts';

/** A stream that hands out `bytes` in chunks of `size`, as a file or a network stream would. */
function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) controller.close();
      else {
        controller.enqueue(bytes.slice(at, at + size));
        at += size;
      }
    },
  });
}

async function all(stream: ReadableStream<Uint8Array>, name = 'x.tar', maxMemberBytes?: number): Promise<(TarMember | TarSkip)[]> {
  const out: (TarMember | TarSkip)[] = [];
  for await (const item of readTar(stream, name, maxMemberBytes === undefined ? {} : { maxMemberBytes })) out.push(item);
  return out;
}

const text = (item: TarMember | TarSkip) => (isTarSkip(item) ? `skip ${item.name}: ${item.reason}` : `${item.name} = ${new TextDecoder().decode(item.bytes)}`);

describe("tar reader on archives written by Python's tarfile", () => {
  const truth = evalTruth().tar_formats;
  const expected = Object.entries(truth).map(([name, content]) => `${name} = ${content}`);

  for (const format of ['gnu', 'pax']) {
    it(`${format}: long names, UTF-8, a directory passed over, a symlink reported, in any chunking`, async () => {
      const bytes = new Uint8Array(await evalFile(`tar-formats/${format}.tar`).arrayBuffer());
      for (const size of [1, 7, 512, 100_000]) {
        const items = (await all(chunked(bytes, size))).map(text);
        expect(items).toEqual([...expected, 'skip link.txt: not a regular file (a link or a device)']);
      }
    });
  }

  it('webdataset shards: every member in order', async () => {
    const items = await all(evalFile('shards/cls-0000.tar').stream() as ReadableStream<Uint8Array>);
    expect(items.map((i) => i.name).slice(0, 4)).toEqual(['c00000.jpg', 'c00000.cls', 'c00001.jpg', 'c00001.cls']);
  });
});

describe('damaged archives', () => {
  it('a damaged header stops the archive with the byte named, after the members before it', async () => {
    const archive = tarArchive([
      { name: 'a.txt', data: new Blob(['first']) },
      { name: 'b.txt', data: new Blob(['second']) },
    ]);
    const bytes = new Uint8Array(await archive.arrayBuffer());
    bytes[1024 + 3]! ^= 1; // a name byte of the second header
    const seen: string[] = [];
    const reading = (async () => {
      for await (const item of readTar(chunked(bytes, 700), 'bad.tar')) seen.push(text(item));
    })();
    await expect(reading).rejects.toThrow("bad.tar is damaged at byte 1024: a header's checksum does not add up");
    expect(seen).toEqual(['a.txt = first']);
    bytes[0]! ^= 1;
    await expect(all(chunked(bytes, 700), 'bad.tar')).rejects.toThrow("bad.tar is not a tar archive (its first header's checksum does not add up)");
  });

  it('truncation inside a member is an error naming the member', async () => {
    const bytes = tarArchive([{ name: 'a.txt', data: new Blob(['x'.repeat(2000)]) }]);
    const cut = new Uint8Array(await bytes.arrayBuffer()).slice(0, 1200);
    await expect(all(chunked(cut, 300), 'cut.tar')).rejects.toThrow('cut.tar is truncated: it ends inside a.txt (byte 0)');
    await expect(all(chunked(new Uint8Array(100), 300), 'tiny.tar')).rejects.toThrow(
      'tiny.tar is not a tar archive, or is truncated: it ends inside a header at byte 0',
    );
  });

  it('a member past the size limit is skipped without being held, and reading goes on', async () => {
    const archive = tarArchive([
      { name: 'big.jpg', data: new Blob([new Uint8Array(5000)]) },
      { name: 'small.txt', data: new Blob(['ok']) },
    ]);
    const items = (await all(archive.stream() as ReadableStream<Uint8Array>, 'x.tar', 1000)).map(text);
    expect(items).toEqual(['skip big.jpg: holds 4.88 KiB, more than the 1000 B a member may have here', 'small.txt = ok']);
  });
});

describe('tar writer', () => {
  it('writes ustar headers whose checksum and fields read back, padded to blocks, two end blocks', async () => {
    const header = tarHeader('000001.json', 1234, 0);
    expect(header.length).toBe(512);
    expect(new TextDecoder().decode(header.subarray(257, 265))).toBe('ustar\u000000');
    expect(new TextDecoder().decode(header.subarray(124, 135))).toBe((1234).toString(8).padStart(11, '0'));
    const archive = tarArchive([
      { name: 'a.txt', data: new Blob(['hello']) },
      { name: 'b.bin', data: new Blob([new Uint8Array(512)]) },
    ]);
    expect(archive.size).toBe(512 + 512 + 512 + 512 + 1024);
    expect((await all(archive.stream() as ReadableStream<Uint8Array>)).map((i) => i.name)).toEqual(['a.txt', 'b.bin']);
    expect(() => tarHeader('x'.repeat(101), 1)).toThrow('longer than 100 bytes');
  });
});
