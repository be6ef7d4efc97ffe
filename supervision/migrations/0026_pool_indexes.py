"""Indexes for the duplicate-candidate pool read (issue 15).

On PostgreSQL, `supervision_itemsignature` gets four columns the ORM never reads or writes, kept by
triggers so that no service (nor a QuerySet.update, nor an import's bulk write) can leave them stale:

- `pool_until`: until when the item belongs to its lead unit's duplicate pool: 'infinity' while live
  (drafts, open, suspended), `closed_at` once closed or verified, NULL when cancelled or linked to a
  lead item. A lookup asks `pool_until >= now - DUBAN_DUPLICATE_CLOSED_WINDOW_DAYS`.
- `keys`: one bigint per distinct character of `chars`, with the lead unit and the pool bucket
  (live, or the month of `pool_until`) in the high bits; code point 0 alone when `chars` is empty,
  i.e. not computed yet; none out of the pool. Under a GIN index, `keys && ARRAY[...]` finds the
  rows of one unit's pool holding one of the new item's heaviest characters without touching the
  unit's other rows (supervision/services/candidate_pool.py).
- `cum_title`, `cum_body`: from `data`, how much of the item's title (body) weight its k heaviest
  characters carry, for every k: with the characters it shares with the new item, a bound of the
  similarity from both sides, so few rows are parsed and compared.

Every item has a signature row: a placeholder (data '{}', no characters; the lookup computes it) for
items without one, from an item's insert until the services store its signature, and again if the
row is deleted. All of it is derived from rows already stored: the backfill is SQL (about 4 min on
the 1M bench ledger). The status lists below are the ones of supervision.choices (LIVE_STATUSES,
DONE_STATUSES) today; `_pool` still decides membership on what the index hands over.
SQLite (the demo) reads the pool in Python and gets none of this."""

from django.db import migrations

LIVE = "('draft', 'assigned', 'acknowledged', 'in_progress', 'pending_review', 'suspended')"
DONE = "('closed', 'verified')"

# The pool membership of one item, from the item and its active link: the one definition the
# triggers and the backfill share (the same rule as candidate_pool.pool_items, which still decides in the end).
POOL_UNTIL = f"""
CREATE OR REPLACE FUNCTION duban_signature_pool_until(p_item bigint) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM supervision_itemlink l WHERE l.item_id = i.id AND l.unlinked_at IS NULL) THEN NULL
        WHEN i.status IN {LIVE} THEN 'infinity'::timestamptz
        WHEN i.status IN {DONE} THEN i.closed_at
    END
    FROM supervision_item i WHERE i.id = p_item
$$;
"""

# A key: unit_id << 29 | bucket << 21 | code point, where the bucket is 0 while live, else 1 + the
# month pool_until falls in (UTC, counted from year 0) modulo 255: a lookup asks for the live bucket
# and the months of its window only, so the index does not hand over items closed long ago (a
# month 21 years back shares a bucket; `pool_until >= ...` drops it). Code point 0: the placeholder.
KEYS = """
CREATE OR REPLACE FUNCTION duban_signature_keys(p_unit bigint, p_chars text, p_until timestamptz) RETURNS bigint[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_unit IS NULL OR p_until IS NULL THEN '{}'::bigint[]
        WHEN coalesce(p_chars, '') = '' THEN ARRAY[(p_unit << 29) | (b.bucket << 21)]
        ELSE ARRAY(SELECT DISTINCT (p_unit << 29) | (b.bucket << 21) | ascii(c) FROM regexp_split_to_table(p_chars, '') AS c)
    END
    FROM (SELECT CASE WHEN p_until = 'infinity' THEN 0::bigint
                      ELSE 1 + (extract(year FROM p_until AT TIME ZONE 'UTC')::bigint * 12
                                + extract(month FROM p_until AT TIME ZONE 'UTC')::bigint - 1) %% 255 END AS bucket) AS b
$$;
"""

# Character k of the result: the share of the total weight that the k+1 heaviest characters carry
# at most, in thousandths rounded up plus one, as chr(256 + n). Whatever k characters another
# item shares with this one, they cover at most that share of it.
CUMULATIVE = """
CREATE OR REPLACE FUNCTION duban_signature_cumulative(p_weights jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg(chr(256 + least(1000, ceil(acc / tot * 1000)::int + 1)), '' ORDER BY n), '')
      FROM (SELECT sum(w) OVER (ORDER BY w DESC, k ROWS UNBOUNDED PRECEDING) AS acc, sum(w) OVER () AS tot,
                   row_number() OVER (ORDER BY w DESC, k) AS n
              FROM (SELECT key AS k, value::float8 AS w FROM jsonb_each_text(p_weights)) AS e) AS x
     WHERE tot > 0
$$;
"""

TRIGGERS = """
CREATE OR REPLACE FUNCTION duban_signature_derive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.pool_until := duban_signature_pool_until(NEW.item_id);
    NEW.keys := duban_signature_keys(NEW.lead_unit_id, NEW.chars, NEW.pool_until);
    BEGIN
        NEW.cum_title := duban_signature_cumulative(NEW.data::jsonb -> 'title_chars');
        NEW.cum_body := duban_signature_cumulative(NEW.data::jsonb -> 'body_chars');
    EXCEPTION WHEN others THEN  -- not JSON: no bound from this side (the lookup recomputes it anyway)
        NEW.cum_title := NULL;
        NEW.cum_body := NULL;
    END;
    RETURN NEW;
END $$;
CREATE TRIGGER signature_derive BEFORE INSERT OR UPDATE OF chars, data, lead_unit_id, item_id, pool_until
    ON supervision_itemsignature
    FOR EACH ROW EXECUTE FUNCTION duban_signature_derive();

CREATE OR REPLACE FUNCTION duban_item_pool_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- lead_unit_id too: the keys follow the item's unit even if its signature is not recomputed.
    UPDATE supervision_itemsignature SET lead_unit_id = NEW.lead_unit_id, pool_until = duban_signature_pool_until(NEW.id)
     WHERE item_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER item_pool_changed AFTER UPDATE OF status, closed_at, lead_unit_id ON supervision_item
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.closed_at IS DISTINCT FROM NEW.closed_at
                       OR OLD.lead_unit_id IS DISTINCT FROM NEW.lead_unit_id)
    EXECUTE FUNCTION duban_item_pool_changed();

CREATE OR REPLACE FUNCTION duban_link_pool_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE supervision_itemsignature SET pool_until = duban_signature_pool_until(OLD.item_id) WHERE item_id = OLD.item_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE supervision_itemsignature SET pool_until = duban_signature_pool_until(NEW.item_id) WHERE item_id = NEW.item_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER link_pool_changed AFTER INSERT OR UPDATE OR DELETE ON supervision_itemlink
    FOR EACH ROW EXECUTE FUNCTION duban_link_pool_changed();

-- Every item has a signature row, so the index finds every item: a placeholder ('{}', no
-- characters; the lookup computes it) from the item's insert until the services store the real one,
-- and again if the row is deleted while the item stays. The item's delete takes it away.
CREATE OR REPLACE FUNCTION duban_signature_placeholder(p_item bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO supervision_itemsignature (item_id, lead_unit_id, data, chars, computed_at)
    SELECT i.id, i.lead_unit_id, '{}', '', now() FROM supervision_item i WHERE i.id = p_item
    ON CONFLICT (item_id) DO NOTHING;
$$;
CREATE OR REPLACE FUNCTION duban_item_placeholder() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM duban_signature_placeholder(NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER item_signature_placeholder AFTER INSERT ON supervision_item
    FOR EACH ROW EXECUTE FUNCTION duban_item_placeholder();
CREATE OR REPLACE FUNCTION duban_signature_placeholder_again() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM duban_signature_placeholder(OLD.item_id);
    RETURN NULL;
END $$;
CREATE TRIGGER signature_placeholder_again AFTER DELETE ON supervision_itemsignature
    FOR EACH ROW EXECUTE FUNCTION duban_signature_placeholder_again();

CREATE OR REPLACE FUNCTION duban_item_signature_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM supervision_itemsignature WHERE item_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER item_signature_gone AFTER DELETE ON supervision_item
    FOR EACH ROW EXECUTE FUNCTION duban_item_signature_gone();
"""

BACKFILL = f"""
INSERT INTO supervision_itemsignature (item_id, lead_unit_id, data, chars, computed_at)
SELECT i.id, i.lead_unit_id, '{{}}', '', now() FROM supervision_item i
 WHERE NOT EXISTS (SELECT 1 FROM supervision_itemsignature s WHERE s.item_id = i.id);

UPDATE supervision_itemsignature s
   SET lead_unit_id = p.lead_unit_id,
       pool_until = p.pool_until,
       keys = duban_signature_keys(p.lead_unit_id, s.chars, p.pool_until),
       cum_title = duban_signature_cumulative(s.data::jsonb -> 'title_chars'),
       cum_body = duban_signature_cumulative(s.data::jsonb -> 'body_chars')
  FROM (SELECT i.id, i.lead_unit_id, CASE
            WHEN EXISTS (SELECT 1 FROM supervision_itemlink l WHERE l.item_id = i.id AND l.unlinked_at IS NULL) THEN NULL
            WHEN i.status IN {LIVE} THEN 'infinity'::timestamptz
            WHEN i.status IN {DONE} THEN i.closed_at
        END AS pool_until
          FROM supervision_item i) AS p
 WHERE p.id = s.item_id;
"""

INDEXES = """
CREATE INDEX signature_pool_keys ON supervision_itemsignature USING gin (keys) WHERE pool_until IS NOT NULL;
ANALYZE supervision_itemsignature;
"""

DROP = """
DROP TRIGGER IF EXISTS item_signature_gone ON supervision_item;
DROP TRIGGER IF EXISTS signature_placeholder_again ON supervision_itemsignature;
DROP TRIGGER IF EXISTS item_signature_placeholder ON supervision_item;
DROP FUNCTION IF EXISTS duban_item_signature_gone();
DROP FUNCTION IF EXISTS duban_signature_placeholder_again();
DROP FUNCTION IF EXISTS duban_item_placeholder();
DROP FUNCTION IF EXISTS duban_signature_placeholder(bigint);
DROP TRIGGER IF EXISTS link_pool_changed ON supervision_itemlink;
DROP TRIGGER IF EXISTS item_pool_changed ON supervision_item;
DROP TRIGGER IF EXISTS signature_derive ON supervision_itemsignature;
DROP FUNCTION IF EXISTS duban_link_pool_changed();
DROP FUNCTION IF EXISTS duban_item_pool_changed();
DROP FUNCTION IF EXISTS duban_signature_derive();
DROP INDEX IF EXISTS signature_pool_keys;
ALTER TABLE supervision_itemsignature DROP COLUMN IF EXISTS keys, DROP COLUMN IF EXISTS pool_until,
    DROP COLUMN IF EXISTS cum_title, DROP COLUMN IF EXISTS cum_body;
DROP FUNCTION IF EXISTS duban_signature_cumulative(jsonb);
DROP FUNCTION IF EXISTS duban_signature_keys(bigint, text, timestamptz);
DROP FUNCTION IF EXISTS duban_signature_pool_until(bigint);
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite (the demo without servers) filters the pool in Python
    schema_editor.execute(
        "ALTER TABLE supervision_itemsignature ADD COLUMN keys bigint[], ADD COLUMN pool_until timestamptz,"
        " ADD COLUMN cum_title text, ADD COLUMN cum_body text"
    )
    schema_editor.execute(POOL_UNTIL)
    schema_editor.execute(KEYS)
    schema_editor.execute(CUMULATIVE)
    # Backfill before the triggers and indexes exist: one pass over the table, no per-row trigger.
    schema_editor.execute(BACKFILL)
    schema_editor.execute(TRIGGERS)
    schema_editor.execute(INDEXES)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(DROP)


class Migration(migrations.Migration):
    """Indexes for the duplicate-candidate pool read (issue 15)."""

    dependencies = [("supervision", "0025_merge_figures_sec")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
