-- Replaces a recorded dictionary's definition (and its hash), when the warehouse is masked.
update meta.dictionary_versions set definition = $definition, sha256 = $sha256 where dictionary_id = $dictionary_id;
