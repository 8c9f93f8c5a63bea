import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` writes SQL migrations into migrations/; they are applied at start by
// server/db/open.ts with drizzle's migrator on both PGlite and PostgreSQL. Never `push`.
export default defineConfig({
  dialect: 'postgresql',
  schema: './server/db/schema.ts',
  out: './migrations',
});
