-- Masks allocation values quoted in the quarantine and the flags of an older warehouse (`key_map`).
update quarantine.rows as q
set value = coalesce((select k.letter from key_map as k where k.code = trim(q.value)), '[withheld]')
where
    q.form = 'randomisation' and q."column" = 'rand_group'
    and q.value is not null and q.value <> '' and q.value not in (select m.letter from key_map as m);
update quarantine.flags as q
set value = coalesce((select k.letter from key_map as k where k.code = trim(q.value)), '[withheld]')
where
    q.form = 'randomisation' and q."column" = 'rand_group'
    and q.value is not null and q.value <> '' and q.value not in (select m.letter from key_map as m);
