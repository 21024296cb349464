// `ferry plan` says when a PostgreSQL target gets each constraint, index and foreign key, as
// the target code schedules them (ddlSchedule): offline with the table / after the load;
// online, UNIQUE/EXCLUDE constraints, unique indexes and foreign keys deferred to cutover.
import { strict as assert } from 'node:assert';
import { renderPlan } from '../../scripts/cli/plan-format';
import { ddlSchedule } from '../../engines/postgres/finish';
import { column, tablePlan } from '../helpers/plan';
import type { TablePlan } from '../../contracts/tables';

function orders(): TablePlan {
  const p = tablePlan('orders', [column('id', 'integer', 23), column('email', 'text', 25), column('customer_id', 'integer', 23), column('span', 'tstzrange', 3910)], ['id']);
  p.ddl = {
    constraints: [
      'CONSTRAINT "orders_email_check" CHECK ((email <> \'\'::text))',
      'CONSTRAINT "orders_email_key" UNIQUE (email)',
      'CONSTRAINT "no_overlap" EXCLUDE USING gist (span WITH &&)',
    ],
    indexes: [
      { name: 'orders_customer', sql: 'CREATE INDEX orders_customer ON public.orders USING btree (customer_id)' },
      { name: 'orders_lower_email', sql: 'CREATE UNIQUE INDEX orders_lower_email ON public.orders USING btree (lower(email))' },
    ],
    foreignKeys: [{ name: 'orders_customer_fk', definition: 'FOREIGN KEY (customer_id) REFERENCES public.customers(id)', references: { schema: 'public', name: 'customers' } }],
  };
  return p;
}

/** The plan's lines for one table, without the column table. */
const ddlLines = (out: string) => out.split('\n').filter((l) => /^ {2}(constraint|index|foreign key)/.test(l));

describe('ferry plan: when a PostgreSQL target builds constraints, indexes and foreign keys', () => {
  it('offline: constraints with the table, indexes and foreign keys after the load', () => {
    assert.deepEqual(ddlLines(renderPlan('postgres', [orders()], undefined, 'offline')), [
      '  constraint: CONSTRAINT "orders_email_check" CHECK ((email <> \'\'::text))',
      '  constraint: CONSTRAINT "orders_email_key" UNIQUE (email)',
      '  constraint: CONSTRAINT "no_overlap" EXCLUDE USING gist (span WITH &&)',
      '  index after load: CREATE INDEX orders_customer ON public.orders USING btree (customer_id)',
      '  index after load: CREATE UNIQUE INDEX orders_lower_email ON public.orders USING btree (lower(email))',
      '  foreign key after load (NOT VALID, then validated): orders_customer_fk FOREIGN KEY (customer_id) REFERENCES public.customers(id)',
    ]);
    assert.deepEqual(ddlLines(renderPlan('postgres', [orders()])), ddlLines(renderPlan('postgres', [orders()], undefined, 'offline')), 'offline is the default');
  });

  it('online: UNIQUE and EXCLUDE constraints, unique indexes and foreign keys deferred to cutover; CHECK and plain indexes as offline', () => {
    assert.deepEqual(ddlLines(renderPlan('postgres', [orders()], undefined, 'online')), [
      '  constraint: CONSTRAINT "orders_email_check" CHECK ((email <> \'\'::text))',
      '  constraint deferred to cutover (online): CONSTRAINT "orders_email_key" UNIQUE (email)',
      '  constraint deferred to cutover (online): CONSTRAINT "no_overlap" EXCLUDE USING gist (span WITH &&)',
      '  index after load: CREATE INDEX orders_customer ON public.orders USING btree (customer_id)',
      '  index deferred to cutover (online): CREATE UNIQUE INDEX orders_lower_email ON public.orders USING btree (lower(email))',
      '  foreign key deferred to cutover (online) (NOT VALID, then validated): orders_customer_fk FOREIGN KEY (customer_id) REFERENCES public.customers(id)',
    ]);
  });

  it('online, a key taken from a unique constraint or index: that one comes with the table', () => {
    const byConstraint = orders();
    byConstraint.key = ['email'];
    byConstraint.keySource = 'unique index public.orders_email_key';
    const lines = ddlLines(renderPlan('postgres', [byConstraint], undefined, 'online'));
    assert.ok(lines.includes('  constraint: CONSTRAINT "orders_email_key" UNIQUE (email)'), lines.join('\n'));

    const byIndex = orders();
    byIndex.key = ['email'];
    byIndex.keySource = 'unique index public.orders_email_idx';
    byIndex.ddl.indexes.push({ name: 'orders_email_idx', sql: 'CREATE UNIQUE INDEX orders_email_idx ON public.orders USING btree (email)' });
    const out = ddlLines(renderPlan('postgres', [byIndex], undefined, 'online'));
    assert.ok(out.includes('  index (the key, created with the table): CREATE UNIQUE INDEX orders_email_idx ON public.orders USING btree (email)'), out.join('\n'));
    assert.ok(out.includes('  index deferred to cutover (online): CREATE UNIQUE INDEX orders_lower_email ON public.orders USING btree (lower(email))'), out.join('\n'));
  });

  it('ddlSchedule, which the target builds by, says the same', () => {
    const s = ddlSchedule(orders(), 'online');
    assert.deepEqual(s.constraints.map((c) => c.when), ['with the table', 'at cutover', 'at cutover']);
    assert.deepEqual(s.indexes.map((i) => i.when), ['after the load', 'at cutover']);
    assert.deepEqual(s.foreignKeys.map((f) => f.when), ['at cutover']);
  });

  it('a MongoDB target lists no constraints or indexes', () => {
    assert.deepEqual(ddlLines(renderPlan('mongodb', [orders()], undefined, 'online')), []);
  });
});
