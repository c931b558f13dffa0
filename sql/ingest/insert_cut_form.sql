-- Keeps a clean form's content hash as of a cut (what the keys of the analysis tables read).
insert or replace into meta.cut_forms (cut_id, form, content_hash) values ($cut, $form, $content_hash);
