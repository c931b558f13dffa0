-- Rows of a cut's export per form: in, loaded, quarantined, flagged.
select form, rows_in, loaded, quarantined, flagged
from meta.file_forms
where file_id = (select file_id from meta.data_cuts where cut_id = $cut)
order by form;
