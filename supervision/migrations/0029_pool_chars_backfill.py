"""The duplicate pool as an inverted index of characters with their weights (issue 15).

Migration 0026 narrowed a lookup with a GIN index over each signature's characters and bounded the
rows it handed over in Python; at the 1M bench ledger's largest unit that still read ~19,000
signature rows, each on its own heap page, for ~500 worth comparing. Now `supervision_poolchar`
holds, for every item in a pool, one row per character with the share of the item's title (and of
its title and text) that the character carries. A lookup joins the new item's characters with
their shares to it and adds up, per item, both coverages of both sides exactly, from the index
alone (an index-only scan): the similarity the detector computes, before any signature is read
(services/candidate_pool.py, `scored_rows`).

Triggers on the signature keep the rows (from its data, lead unit and `pool_until`), so no service,
QuerySet.update or import leaves them stale; `pool_until` stays as migration 0026 keeps it. The GIN
index and the columns it needed (keys, cum_title, cum_body) go. The backfill is SQL."""

from django.db import migrations

# The pool bucket of an item: 0 while live, else 1 + the month it left the pool (UTC, counted from
# year 0) modulo 255: a lookup asks for the live bucket and the months of its window only, so items
# closed long ago are not read (a month 21 years back shares a bucket; the pool rule drops it).
BUCKET = """
CREATE OR REPLACE FUNCTION duban_pool_bucket(p_until timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_until = 'infinity' THEN 0::bigint
                ELSE 1 + (extract(year FROM p_until AT TIME ZONE 'UTC')::bigint * 12
                          + extract(month FROM p_until AT TIME ZONE 'UTC')::bigint - 1) %% 255 END
$$;
"""

# The rows of one signature: per character, the share of the title's and of the body's weight it
# carries. Out of the pool: none. Not computed yet (a placeholder) or not JSON: one row with code
# point 0, which every lookup asks for, so the lookup computes it.
CHARS = """
CREATE OR REPLACE FUNCTION duban_pool_chars(p_unit bigint, p_until timestamptz, p_data text)
RETURNS TABLE (key bigint, title_share float8, body_share float8) LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    base bigint;
    d jsonb;
BEGIN
    IF p_unit IS NULL OR p_until IS NULL THEN
        RETURN;
    END IF;
    base := (p_unit << 29) | (duban_pool_bucket(p_until) << 21);
    BEGIN
        d := p_data::jsonb;
    EXCEPTION WHEN others THEN
        d := NULL;
    END;
    IF d IS NOT NULL THEN
        RETURN QUERY
            SELECT base | ascii(coalesce(t.k, b.k)), coalesce(t.w / t.total, 0), coalesce(b.w / b.total, 0)
              FROM (SELECT e.key AS k, e.value::float8 AS w, sum(e.value::float8) OVER () AS total
                      FROM jsonb_each_text(d -> 'title_chars') AS e) AS t
              FULL JOIN (SELECT e.key AS k, e.value::float8 AS w, sum(e.value::float8) OVER () AS total
                           FROM jsonb_each_text(d -> 'body_chars') AS e) AS b ON b.k = t.k;
        IF FOUND THEN
            RETURN;
        END IF;
    END IF;
    RETURN QUERY SELECT base, 0::float8, 0::float8;
END $$;
"""

# The rows of one item, from its signature row as it stands: deleted, then written again. Run after
# every change of a signature row; as it reads the table, the order in which the triggers of one
# statement fire (a deleted signature comes back as a placeholder, migration 0026) does not matter.
SYNC = """
CREATE OR REPLACE FUNCTION duban_pool_chars_refresh(p_item bigint) RETURNS void LANGUAGE sql AS $$
    DELETE FROM supervision_poolchar WHERE item_id = p_item;
    INSERT INTO supervision_poolchar (item_id, key, title_share, body_share)
    SELECT s.item_id, c.key, c.title_share, c.body_share
      FROM supervision_itemsignature AS s, LATERAL duban_pool_chars(s.lead_unit_id, s.pool_until, s.data) AS c
     WHERE s.item_id = p_item;
$$;
CREATE OR REPLACE FUNCTION duban_pool_chars_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM duban_pool_chars_refresh(OLD.item_id);
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.item_id <> OLD.item_id) THEN
        PERFORM duban_pool_chars_refresh(NEW.item_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER signature_pool_chars AFTER INSERT OR DELETE ON supervision_itemsignature
    FOR EACH ROW EXECUTE FUNCTION duban_pool_chars_sync();
CREATE TRIGGER signature_pool_chars_changed AFTER UPDATE ON supervision_itemsignature
    FOR EACH ROW WHEN (OLD.data IS DISTINCT FROM NEW.data OR OLD.lead_unit_id IS DISTINCT FROM NEW.lead_unit_id
                       OR OLD.pool_until IS DISTINCT FROM NEW.pool_until OR OLD.item_id <> NEW.item_id)
    EXECUTE FUNCTION duban_pool_chars_sync();
"""

# Migration 0026's trigger without the keys and shares: pool membership only.
DERIVE = """
CREATE OR REPLACE FUNCTION duban_signature_derive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.pool_until := duban_signature_pool_until(NEW.item_id);
    RETURN NEW;
END $$;
DROP INDEX IF EXISTS signature_pool_keys;
ALTER TABLE supervision_itemsignature DROP COLUMN IF EXISTS keys, DROP COLUMN IF EXISTS cum_title,
    DROP COLUMN IF EXISTS cum_body;
DROP FUNCTION IF EXISTS duban_signature_keys(bigint, text, timestamptz);
DROP FUNCTION IF EXISTS duban_signature_cumulative(jsonb);
"""

# Every item's signature row (a placeholder where none was computed), its pool membership, then the
# characters of every signature in a pool. Also run by bench/generate_ledger.py after its COPY.
BACKFILL = """
INSERT INTO supervision_itemsignature (item_id, lead_unit_id, data, chars, computed_at)
SELECT i.id, i.lead_unit_id, '{}', '', now() FROM supervision_item i
 WHERE NOT EXISTS (SELECT 1 FROM supervision_itemsignature s WHERE s.item_id = i.id);

UPDATE supervision_itemsignature s
   SET lead_unit_id = p.lead_unit_id, pool_until = p.pool_until
  FROM (SELECT i.id, i.lead_unit_id, duban_signature_pool_until(i.id) AS pool_until FROM supervision_item i) AS p
 WHERE p.id = s.item_id
   AND (s.lead_unit_id IS DISTINCT FROM p.lead_unit_id OR s.pool_until IS DISTINCT FROM p.pool_until);

DROP INDEX IF EXISTS poolchar_key;
TRUNCATE supervision_poolchar;
INSERT INTO supervision_poolchar (item_id, key, title_share, body_share)
SELECT s.item_id, c.key, c.title_share, c.body_share
  FROM supervision_itemsignature s, LATERAL duban_pool_chars(s.lead_unit_id, s.pool_until, s.data) AS c
 WHERE s.pool_until IS NOT NULL
 ORDER BY s.item_id;
CREATE INDEX poolchar_key ON supervision_poolchar (key) INCLUDE (item_id, title_share, body_share);
ANALYZE supervision_poolchar;
"""

DROP = """
DROP TRIGGER IF EXISTS signature_pool_chars ON supervision_itemsignature;
DROP TRIGGER IF EXISTS signature_pool_chars_changed ON supervision_itemsignature;
DROP FUNCTION IF EXISTS duban_pool_chars_sync();
DROP FUNCTION IF EXISTS duban_pool_chars_refresh(bigint);
DROP FUNCTION IF EXISTS duban_pool_chars(bigint, timestamptz, text);
DROP FUNCTION IF EXISTS duban_pool_bucket(timestamptz);
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite (the demo without servers) reads the pool whole; the table stays empty
    schema_editor.execute(DERIVE)
    schema_editor.execute(BUCKET)
    schema_editor.execute(CHARS)
    # Before the triggers exist: one pass over the table, no per-row trigger.
    schema_editor.execute(BACKFILL)
    schema_editor.execute(SYNC)


def backwards(apps, schema_editor):
    # The GIN keys of migration 0026 are not rebuilt: migrate back past 0026 and forward again.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    """Fill and keep the duplicate pool's index of characters (issue 15)."""

    dependencies = [("supervision", "0028_pool_chars")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
