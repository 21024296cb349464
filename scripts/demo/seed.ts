// A small shop as the demo source: four related tables with the types real schemas use
// (serial and bigint keys, a composite key, numeric money, enums, arrays, jsonb, timestamps,
// NULLs). Deterministic: the same scale gives the same rows, so runs are comparable.
import type { Pool } from 'pg';

export interface SeedScale {
  customers: number;
  products: number;
  orders: number;
  /** Items per order. */
  itemsPerOrder: number;
}

export const demoScale: SeedScale = { customers: 5_000, products: 1_000, orders: 20_000, itemsPerOrder: 3 };

export const demoTables = ['public.customers', 'public.products', 'public.orders', 'public.order_items'];

export async function seedShop(pool: Pool, scale: SeedScale = demoScale): Promise<void> {
  await pool.query(`
    DROP TABLE IF EXISTS public.order_items, public.orders, public.products, public.customers CASCADE;
    DROP TYPE IF EXISTS public.order_status;
    CREATE TYPE public.order_status AS ENUM ('pending', 'paid', 'shipped', 'cancelled');
    CREATE TABLE public.customers (
      id serial PRIMARY KEY,
      name text NOT NULL,
      email varchar(200) UNIQUE,
      country char(2),
      balance numeric(12, 2) NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL
    );
    CREATE TABLE public.products (
      id integer PRIMARY KEY,
      sku text NOT NULL UNIQUE,
      name text NOT NULL,
      price numeric(10, 2) NOT NULL,
      tags text[],
      attributes jsonb
    );
    CREATE TABLE public.orders (
      id bigint PRIMARY KEY,
      customer_id integer NOT NULL REFERENCES public.customers(id),
      status public.order_status NOT NULL,
      ordered_at timestamp NOT NULL,
      shipped_on date,
      total numeric(14, 2) NOT NULL
    );
    CREATE TABLE public.order_items (
      order_id bigint NOT NULL REFERENCES public.orders(id),
      line_no smallint NOT NULL,
      product_id integer NOT NULL REFERENCES public.products(id),
      quantity integer NOT NULL,
      unit_price numeric(10, 2) NOT NULL,
      discount double precision,
      PRIMARY KEY (order_id, line_no)
    );`);
  await pool.query(
    `INSERT INTO public.customers (name, email, country, balance, created_at)
     SELECT 'Customer ' || g || CASE WHEN g % 97 = 0 THEN ' Ünïcødé ✓' ELSE '' END,
            CASE WHEN g % 50 = 0 THEN NULL ELSE 'c' || g || '@example.com' END,
            (ARRAY['FR','DE','US','JP','BR'])[1 + g % 5],
            round(((g * 7919) % 100000) / 100.0, 2),
            timestamptz '2020-01-01 00:00:00+00' + g * interval '17 minutes 3.123456 seconds'
       FROM generate_series(1, $1::int) g`,
    [scale.customers],
  );
  await pool.query(
    `INSERT INTO public.products (id, sku, name, price, tags, attributes)
     SELECT g, 'SKU-' || lpad(g::text, 6, '0'), 'Product ' || g, round((1 + (g * 31) % 500) + (g % 100) / 100.0, 2),
            CASE WHEN g % 10 = 0 THEN NULL ELSE ARRAY['tag' || g % 7, 'tag' || g % 11] END,
            jsonb_build_object('weight_g', g * 3, 'fragile', g % 4 = 0, 'dims', jsonb_build_array(g % 30, g % 20, g % 10))
       FROM generate_series(1, $1::int) g`,
    [scale.products],
  );
  // Sparse bigint keys: gaps between orders, as real tables have after deletes.
  await pool.query(
    `INSERT INTO public.orders (id, customer_id, status, ordered_at, shipped_on, total)
     SELECT 1000000000 + g * 3, 1 + (g * 13) % $2::int,
            (ARRAY['pending','paid','shipped','cancelled']::public.order_status[])[1 + g % 4],
            timestamp '2022-01-01 00:00:00' + g * interval '3 minutes 0.5 seconds',
            CASE WHEN g % 4 = 2 THEN date '2022-01-03' + (g / 500) END,
            0
       FROM generate_series(1, $1::int) g`,
    [scale.orders, scale.customers],
  );
  await pool.query(
    `INSERT INTO public.order_items (order_id, line_no, product_id, quantity, unit_price, discount)
     SELECT o.id, l, 1 + ((o.id + l * 7) % $2::int), 1 + (o.id + l) % 5, p.price,
            CASE WHEN l = 1 THEN 0.1 WHEN l = 2 THEN NULL ELSE 0 END
       FROM public.orders o CROSS JOIN generate_series(1, $1::int) l
       JOIN public.products p ON p.id = 1 + ((o.id + l * 7) % $2::int)`,
    [scale.itemsPerOrder, scale.products],
  );
  await pool.query(
    `UPDATE public.orders o SET total = s.total
       FROM (SELECT order_id, sum(quantity * unit_price) AS total FROM public.order_items GROUP BY order_id) s
      WHERE s.order_id = o.id;
     ANALYZE public.customers, public.products, public.orders, public.order_items;`,
  );
}
