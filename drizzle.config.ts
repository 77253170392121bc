import { defineConfig } from 'drizzle-kit';

// Only autofollow's own tables are generated; the CRM's tables are created "if absent" by
// server/db/migrate.ts, because drizzle-kit cannot express that (STYLE §3).
export default defineConfig({
  dialect: 'mysql',
  schema: './server/db/schema/app.ts',
  out: './drizzle',
  dbCredentials: { url: 'mysql://root@127.0.0.1:3306/autofollow' },
});
