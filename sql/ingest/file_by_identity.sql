-- The earlier outcome of an export with these bytes (at most one row: a final outcome first).
-- Bytes applied or recorded as older are known under any name; a file refused or held is known
-- by its name and its bytes (renamed as its refusal advises, it is read again); an entry that
-- could not be read has no bytes (sha256 ''): it is known by its name.
select file_id, status, data_cut, message
from meta.source_files
where sha256 = $sha256 and ((sha256 <> '' and list_contains($final, status)) or file_name = $file_name)
order by list_contains($final, status) desc, file_id
limit 1;
