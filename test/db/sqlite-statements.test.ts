// The prepared-statement cache on a real better-sqlite3 connection: one prepare per SQL text,
// correct results through knex, the oldest text evicted past the bound.
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { cachePreparedStatements } from '../../src/db/sqlite-statements.js';

describe('cachePreparedStatements', () => {
  const open: Array<{ close(): unknown }> = [];
  afterEach(() => {
    for (const db of open.splice(0)) db.close();
  });

  it('prepares each SQL text once and returns working statements', () => {
    const db = new Database(':memory:');
    open.push(db);
    let prepared = 0;
    const original = db.prepare.bind(db);
    db.prepare = ((sql: string) => {
      prepared++;
      return original(sql);
    }) as typeof db.prepare;
    cachePreparedStatements(db);
    db.prepare('CREATE TABLE t (v INTEGER)').run();
    for (let i = 0; i < 5; i++) db.prepare('INSERT INTO t (v) VALUES (?)').run(i);
    expect(db.prepare('SELECT sum(v) AS s FROM t').get()).toEqual({ s: 10 });
    expect(db.prepare('SELECT sum(v) AS s FROM t').get()).toEqual({ s: 10 });
    expect(prepared).toBe(3);
  });

  it('keeps at most `max` texts, evicting the oldest', () => {
    const db = new Database(':memory:');
    open.push(db);
    cachePreparedStatements(db, 2);
    const a = db.prepare('SELECT 1');
    db.prepare('SELECT 2');
    expect(db.prepare('SELECT 1')).toBe(a);
    db.prepare('SELECT 3'); // evicts "SELECT 1", the first one cached
    expect(db.prepare('SELECT 1')).not.toBe(a);
  });

  it('knex on SQLite answers correctly through cached statements, also after a schema change', async () => {
    const database = openDatabase('sqlite::memory:');
    try {
      const knex = database.knex;
      await knex.schema.createTable('t', (t) => t.integer('v'));
      for (let i = 1; i <= 3; i++) await knex('t').insert({ v: i });
      expect(await knex('t').sum({ s: 'v' })).toEqual([{ s: 6 }]);
      await knex.schema.alterTable('t', (t) => t.integer('w').defaultTo(7));
      expect(await knex('t').select('*').orderBy('v')).toEqual([
        { v: 1, w: 7 },
        { v: 2, w: 7 },
        { v: 3, w: 7 },
      ]);
      expect(await knex('t').sum({ s: 'v' })).toEqual([{ s: 6 }]);
    } finally {
      await database.close();
    }
  });
});
