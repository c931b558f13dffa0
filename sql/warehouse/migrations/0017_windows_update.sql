-- A table that reads the cut's date (which visit windows had closed by then) and nothing else
-- changed since the previous analysed cut is updated from that cut's rows: only the participants
-- whose windows closed in between are counted again (`flows/analyse/sharing.py`). Its key without
-- the closed windows says whether nothing else changed.
alter table analysis.cut_tables add column content_hash varchar;
comment on column analysis.cut_tables.content_hash is
'For a table reading the cut''s date: SHA-256 of its input but the closed windows (equal: updated from these rows)';

-- Whether any of a participant's visit windows closed between two dates (in either order): the
-- participants whose counts a later cut's date can change.
create or replace macro window_closed_between(rand_date, since_date, cut_date) as
exists (
    select 1
    from ref.visits
    where window_closed(rand_date, window_high, since_date) != window_closed(rand_date, window_high, cut_date)
);
