/**
 * A schema migration: numbered, append-only, compiled in (the packaged CLI reads no migration
 * files). Never edit a released migration; add the next number. Both dialects keep the same
 * numbers so a schema change lands in both at once.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Throws when the list is not 1, 2, 3, … in order (a merge that reused a number). */
export function checkMigrationOrder(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`migration ${migration.name} has version ${migration.version}, expected ${index + 1}`);
    }
  });
}

/** Refuses a database migrated by a newer barge: its schema may not be what this code expects. */
export function checkNotNewer(appliedMax: number, migrations: readonly Migration[]): void {
  const known = migrations.length;
  if (appliedMax > known) {
    throw new Error(
      `the database schema is at version ${appliedMax} but this barge knows only up to ${known}; upgrade barge`,
    );
  }
}
