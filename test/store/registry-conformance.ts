/**
 * Conformance cases for tools, filesystems and grants (issue 10), run by conformance.ts against
 * every store with the store of the case.
 */
import { describe, expect, it } from 'vitest';
import type { FilesystemRow, ToolRow } from '../../src/core/model.js';
import type { Store } from '../../src/store/store.js';
import { at, newTestId } from './fixtures.js';

const tool = (overrides: Partial<ToolRow> = {}): ToolRow => ({
  id: newTestId(),
  name: 'hello',
  description: 'says hello',
  owner: 'alice',
  program: null,
  createdAt: at(1),
  ...overrides,
});

const filesystem = (overrides: Partial<FilesystemRow> = {}): FilesystemRow => ({
  id: newTestId(),
  name: 'data',
  owner: 'alice',
  path: '/srv/data',
  createdAt: at(1),
  ...overrides,
});

export function registryCases(store: () => Store): void {
  describe('tools, filesystems and grants', () => {
    it('inserts, reads, lists, programs and deletes tools; one name per owner', async () => {
      const hello = tool();
      const bobs = tool({ owner: 'bob', createdAt: at(2) });
      const second = tool({ name: 'second', createdAt: at(3) });
      for (const row of [hello, bobs, second]) await store().toolInsert(row);
      await expect(store().toolInsert(tool())).rejects.toThrow();
      expect(await store().toolGet(hello.id)).toEqual(hello);
      expect(await store().toolGetByName({ owner: 'bob', name: 'hello' })).toEqual(bobs);
      expect(await store().toolList({ userName: 'alice' })).toEqual([hello, second]);
      expect(await store().toolList({})).toEqual([hello, bobs, second]);

      const program = { kind: 'image' as const, image: 'alpine:3', command: 'echo "$x"' };
      expect(await store().toolSetProgram({ id: hello.id, program })).toBe(true);
      expect((await store().toolGet(hello.id))?.program).toEqual(program);
      expect(await store().toolSetProgram({ id: newTestId(), program })).toBe(false);

      await store().grantInsert({ kind: 'tool', resourceId: hello.id, userName: 'bob', createdAt: at(4) });
      expect(await store().toolList({ userName: 'bob' })).toEqual([{ ...hello, program }, bobs]);
      expect(await store().toolDelete(hello.id)).toBe(true);
      expect(await store().toolDelete(hello.id)).toBe(false);
      expect(await store().grantList({ kind: 'tool', resourceId: hello.id })).toEqual([]);
      expect(await store().toolList({ userName: 'bob' })).toEqual([bobs]);
    });

    it('inserts, lists and deletes filesystems, shared through grants of their own kind', async () => {
      const data = filesystem();
      const other = filesystem({ owner: 'carol', name: 'other', createdAt: at(2) });
      await store().filesystemInsert(data);
      await store().filesystemInsert(other);
      await expect(store().filesystemInsert(filesystem())).rejects.toThrow();
      expect(await store().filesystemGet(data.id)).toEqual(data);
      expect(await store().filesystemGetByName({ owner: 'carol', name: 'other' })).toEqual(other);
      expect(await store().filesystemList({ userName: 'bob' })).toEqual([]);
      // A tool grant with the same id does not share a filesystem.
      await store().grantInsert({ kind: 'tool', resourceId: other.id, userName: 'bob', createdAt: at(3) });
      expect(await store().filesystemList({ userName: 'bob' })).toEqual([]);
      await store().grantInsert({ kind: 'filesystem', resourceId: other.id, userName: 'bob', createdAt: at(4) });
      await store().grantInsert({ kind: 'filesystem', resourceId: other.id, userName: 'bob', createdAt: at(5) });
      expect(await store().grantList({ kind: 'filesystem', resourceId: other.id })).toEqual([
        { kind: 'filesystem', resourceId: other.id, userName: 'bob', createdAt: at(4) },
      ]);
      expect(await store().filesystemList({ userName: 'bob' })).toEqual([other]);
      expect(await store().grantExists({ kind: 'filesystem', resourceId: other.id, userName: 'bob' })).toBe(true);
      expect(await store().grantDelete({ kind: 'filesystem', resourceId: other.id, userName: 'bob' })).toBe(true);
      expect(await store().grantExists({ kind: 'filesystem', resourceId: other.id, userName: 'bob' })).toBe(false);
      expect(await store().filesystemDelete(data.id)).toBe(true);
      expect(await store().filesystemList({})).toEqual([other]);
    });
  });
}
