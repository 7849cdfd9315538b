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

/**
 * Throws when the list does not start at 1 and rise (a merge that reused a number or put one out
 * of order). A gap is allowed: numbers handed out to changes made side by side may land in any
 * order, and each migration is applied by its own row in barge_migrations, not by the highest.
 */
export function checkMigrationOrder(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    const least = index === 0 ? 1 : migrations[index - 1].version + 1;
    if (index === 0 ? migration.version !== 1 : migration.version < least) {
      throw new Error(`migration ${migration.name} has version ${migration.version}, expected ${index === 0 ? 1 : `at least ${least}`}`);
    }
  });
}

/** Refuses a database migrated by a newer barge: its schema may not be what this code expects. */
export function checkNotNewer(appliedMax: number, migrations: readonly Migration[]): void {
  const known = migrations.at(-1)?.version ?? 0;
  if (appliedMax > known) {
    throw new Error(
      `the database schema is at version ${appliedMax} but this barge knows only up to ${known}; upgrade barge`,
    );
  }
}
