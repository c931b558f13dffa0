-- Masks allocation values quoted in the quarantine and the flags of an older warehouse (`key_map`).
update quarantine.rows
set value = coalesce((select k.letter from key_map as k where k.code = trim(value)), '[withheld]')
where
    form = 'randomisation' and "column" = 'rand_group'
    and value is not null and value <> '' and value not in (select letter from key_map);
update quarantine.flags
set value = coalesce((select k.letter from key_map as k where k.code = trim(value)), '[withheld]')
where
    form = 'randomisation' and "column" = 'rand_group'
    and value is not null and value <> '' and value not in (select letter from key_map);
