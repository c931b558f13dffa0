-- Masks the allocation stored in {{ schema }}.{{ form }} (an older warehouse): each code becomes its
-- blinded letter (`key_map`: code, letter), any other value is withheld; letters stay as they are.
update {{ schema }}.{{ form }} as r
set rand_group = coalesce((select k.letter from key_map as k where k.code = trim(r.rand_group)), '[withheld]')
where r.rand_group is not null and r.rand_group <> '' and r.rand_group not in (select m.letter from key_map as m);
