/**
 * A small streaming tar writer (POSIX ustar, with pax headers for long or non-ASCII names and
 * files of 8 GiB and more). Streaming matters: a results download is built from artifact streams
 * as it is sent, never held in memory or written to a temporary file. The `tar` package reads
 * only from the file system, and artifacts may live in S3, hence this.
 */

export interface TarFile {
  /** Relative, '/'-separated, already checked not to escape the archive. */
  path: string;
  size: number;
  mtime: Date;
  /** Exactly `size` bytes; the writer pads or cuts what it gets so the archive stays valid. */
  content: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

const BLOCK = 512;
const MAX_OCTAL_SIZE = 0o77777777777;

/** The archive's bytes, file by file; `onMismatch` hears of content that was not `size` bytes. */
export async function* tarStream(
  files: AsyncIterable<TarFile>,
  onMismatch: (path: string, expected: number, actual: number) => void = () => undefined,
): AsyncGenerator<Buffer> {
  for await (const file of files) {
    yield* fileHeaders(file);
    let written = 0;
    for await (const chunk of file.content) {
      const room = file.size - written;
      if (room <= 0) {
        written += chunk.length;
        continue;
      }
      const part = Buffer.from(chunk.buffer, chunk.byteOffset, Math.min(chunk.length, room));
      written += chunk.length;
      yield part;
    }
    if (written !== file.size) onMismatch(file.path, file.size, written);
    const missing = Math.max(0, file.size - written);
    if (missing > 0) yield Buffer.alloc(missing);
    yield padding(file.size);
  }
  yield Buffer.alloc(BLOCK * 2);
}

function* fileHeaders(file: TarFile): Generator<Buffer> {
  const nameBytes = Buffer.byteLength(file.path, 'utf8');
  const needsPaxPath = nameBytes > 100 || !/^[\x20-\x7e]*$/.test(file.path);
  const needsPaxSize = file.size > MAX_OCTAL_SIZE;
  if (needsPaxPath || needsPaxSize) {
    const records: Record<string, string> = {};
    if (needsPaxPath) records.path = file.path;
    if (needsPaxSize) records.size = String(file.size);
    const body = paxBody(records);
    yield header({ path: 'PaxHeader', size: body.length, mtime: file.mtime, type: 'x' });
    yield body;
    yield padding(body.length);
  }
  yield header({
    path: needsPaxPath ? asciiFallback(file.path) : file.path,
    size: needsPaxSize ? 0 : file.size,
    mtime: file.mtime,
    type: '0',
  });
}

function header(entry: { path: string; size: number; mtime: Date; type: '0' | 'x' }): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(entry.path, 0, 100, 'utf8');
  writeOctal(block, 100, 8, 0o644);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, entry.size);
  writeOctal(block, 136, 12, Math.max(0, Math.floor(entry.mtime.getTime() / 1000)));
  block.fill(0x20, 148, 156);
  block.write(entry.type, 156, 1, 'ascii');
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  block.write('barge', 265, 32, 'ascii');
  block.write('barge', 297, 32, 'ascii');
  let checksum = 0;
  for (const byte of block) checksum += byte;
  block.write(`${checksum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'ascii');
}

/** pax records are `<length> <key>=<value>\n`, where the length counts its own digits. */
function paxBody(records: Record<string, string>): Buffer {
  const lines = Object.entries(records).map(([key, value]) => {
    const rest = ` ${key}=${value}\n`;
    const restBytes = Buffer.byteLength(rest, 'utf8');
    let length = restBytes + 1;
    while (String(length).length + restBytes !== length) length = String(length).length + restBytes;
    return `${length}${rest}`;
  });
  return Buffer.from(lines.join(''), 'utf8');
}

/** What readers without pax support see: the name's ASCII tail, within ustar's 100 bytes. */
function asciiFallback(path: string): string {
  return path.replace(/[^\x20-\x7e]/g, '_').slice(-100);
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}
