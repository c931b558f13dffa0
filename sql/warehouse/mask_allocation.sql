-- Masks the allocation stored in {{ schema }}.{{ form }} (an older warehouse): each code becomes its
-- blinded letter (`key_map`: code, letter), any other value is withheld; letters stay as they are.
update {{ schema }}.{{ form }}
set rand_group = coalesce((select k.letter from key_map as k where k.code = trim(rand_group)), '[withheld]')
where rand_group is not null and rand_group <> '' and rand_group not in (select letter from key_map);
