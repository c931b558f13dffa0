-- Forgets the clean forms' content hashes (after the clean layer is rewritten; they are computed again when read).
delete from meta.cut_forms;
