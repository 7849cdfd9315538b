/**
 * The streaming tar writer, read back by the `tar` package: plain and long names, non-ASCII
 * names, empty files, block padding, and content that is not the size it claimed.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import * as tar from 'tar';
import { tarStream, type TarFile } from '../../src/api/tar-writer.js';

async function* files(list: TarFile[]): AsyncGenerator<TarFile> {
  yield* list;
}

function file(path: string, text: string, size = Buffer.byteLength(text)): TarFile {
  return { path, size, mtime: new Date('2024-05-01T12:00:00Z'), content: [Buffer.from(text)] };
}

/** Parses an archive with the `tar` package: path → content. */
async function readBack(archive: Buffer): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => entries.set(entry.path, Buffer.concat(chunks).toString('utf8')));
    },
  });
  await pipeline(Readable.from([archive]), parser);
  return entries;
}

async function archiveOf(list: TarFile[], onMismatch?: (path: string, expected: number, actual: number) => void): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of tarStream(files(list), onMismatch)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('tarStream', () => {
  it('writes files the tar package reads back, in 512-byte blocks', async () => {
    const long = `${'a'.repeat(80)}/${'b'.repeat(80)}/c.txt`;
    const archive = await archiveOf([
      file('one/plain.txt', 'hello\n'),
      file('one/empty', ''),
      file(long, 'deep'),
      file('ünï/cødé.txt', 'ü'),
      file('exact.bin', 'x'.repeat(512)),
    ]);
    expect(archive.length % 512).toBe(0);
    const entries = await readBack(archive);
    expect([...entries.keys()]).toEqual(['one/plain.txt', 'one/empty', long, 'ünï/cødé.txt', 'exact.bin']);
    expect(entries.get('one/plain.txt')).toBe('hello\n');
    expect(entries.get('one/empty')).toBe('');
    expect(entries.get(long)).toBe('deep');
    expect(entries.get('ünï/cødé.txt')).toBe('ü');
    expect(entries.get('exact.bin')).toBe('x'.repeat(512));
  });

  it('keeps the archive valid when content is shorter or longer than its size, and says so', async () => {
    const mismatches: Array<[string, number, number]> = [];
    const archive = await archiveOf(
      [file('short', 'abc', 5), file('long', 'abcdefgh', 4), file('after', 'still readable')],
      (path, expected, actual) => mismatches.push([path, expected, actual]),
    );
    const entries = await readBack(archive);
    expect(entries.get('short')).toBe('abc\0\0');
    expect(entries.get('long')).toBe('abcd');
    expect(entries.get('after')).toBe('still readable');
    expect(mismatches).toEqual([
      ['short', 5, 3],
      ['long', 4, 8],
    ]);
  });

  it('writes an empty archive as two zero blocks', async () => {
    const archive = await archiveOf([]);
    expect(archive).toEqual(Buffer.alloc(1024));
  });
});
